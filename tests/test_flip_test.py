"""The flip test of clips: the width of the untouched batch is flipped, key-points mirrored."""
from ctl_plugin.evaluation import flip_test

import torch


class _Recorder(torch.nn.Module):
    """Normalises in place like fast-reid's Baseline and returns a feature that reveals
    its (normalised) input: the first row (height) of frame 0, channel 0."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, inputs):
        images = inputs["images"]
        images.sub_(100.0).div_(50.0)
        self.seen.append(images.clone())
        return images[:, 0, 0, 0, :].clone()


def test_flip_test_flips_width_of_untouched_clips():
    import fastreid.engine.defaults as defaults
    from fastreid.evaluation.evaluator import DatasetEvaluator

    class Collect(DatasetEvaluator):
        def reset(self):
            self.outputs = []

        def process(self, inputs, outputs):
            self.outputs.append(outputs)

        def evaluate(self):
            return {"outputs": torch.cat(self.outputs)}

    clips = torch.arange(2 * 3 * 3 * 4 * 5, dtype=torch.float32).view(2, 3, 3, 4, 5)
    loader = [{"images": clips.clone(), "targets": torch.tensor([0, 1])}]

    class Loader(list):
        dataset = [0, 1]

    model = _Recorder()
    out = flip_test.inference_on_dataset(model, Loader(loader), Collect(), flip_test=True)["outputs"]
    normalised = (clips - 100.0) / 50.0
    assert torch.allclose(model.seen[1], normalised.flip(-1))  # width flipped, normalised once
    expected = (normalised[:, 0, 0, 0, :] + normalised.flip(-1)[:, 0, 0, 0, :]) / 2
    assert torch.allclose(out, expected)
    # fast-reid's own loop flips the height and normalises the flipped pass twice
    model = _Recorder()
    defaults.inference_on_dataset(model, Loader([{"images": clips.clone()}]), Collect(), True)
    assert not torch.allclose(model.seen[1], normalised.flip(-1))
    assert torch.allclose(model.seen[1], (normalised.flip(3) - 100.0) / 50.0)


def test_flip_test_mirrors_cached_keypoints():
    from ctl_plugin.keypoints.skeleton import FLIP_INDEX
    kps = torch.rand(2, 3, 17, 3) * 20
    images = torch.zeros(2, 3, 3, 8, 32)
    flipped = flip_test.flip_inputs({"images": images, "keypoints": kps})
    assert torch.allclose(flipped["keypoints"][..., 0], 31 - kps[..., FLIP_INDEX, 0])
    assert torch.allclose(flipped["keypoints"][..., 1:], kps[..., FLIP_INDEX, 1:])
