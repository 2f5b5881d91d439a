"""The flip test of clips: fast-reid's inference loop with the flipped pass done right.

fast-reid's `inference_on_dataset` flips `dims=[3]` (the height of a 5-D clip) of the
tensor the model has already normalised in place, so its flipped pass is normalised
twice. Here the flipped copy is made from the untouched batch, along the width, and
cached key-points are mirrored with it.
"""
import logging
import time

import torch

from ..keypoints.skeleton import flip_keypoints


def flip_inputs(inputs):
    """A horizontally flipped copy of a batch: images along width (the last dim, also
    on 5-D clips), cached key-points mirrored with left/right swapped."""
    flipped = dict(inputs)
    flipped["images"] = inputs["images"].flip(dims=[-1])
    if inputs.get("keypoints") is not None:
        flipped["keypoints"] = flip_keypoints(inputs["keypoints"], width=inputs["images"].shape[-1])
    return flipped


def inference_on_dataset(model, data_loader, evaluator, flip_test=False):
    """fast-reid's inference loop with a correct flip test.

    fast-reid flips `dims=[3]` (the height of a 5-D clip) of the tensor the model
    has already normalised in place, so the flipped pass is normalised twice. Here
    the flipped copy is made from the untouched batch, along the width.
    """
    from fastreid.evaluation.evaluator import inference_context
    from fastreid.utils.logger import log_every_n_seconds

    log = logging.getLogger("fastreid.evaluation.evaluator")
    total = len(data_loader)
    log.info("Start inference on {} items".format(len(data_loader.dataset)))
    evaluator.reset()
    start = time.perf_counter()
    with inference_context(model), torch.no_grad():
        for idx, inputs in enumerate(data_loader):
            flipped = flip_inputs(inputs) if flip_test else None
            outputs = model(inputs)
            if flip_test:
                outputs = (outputs + model(flipped)) / 2
            evaluator.process(inputs, outputs)
            per_batch = (time.perf_counter() - start) / (idx + 1)
            log_every_n_seconds(logging.INFO, "Inference done {}/{}. {:.4f} s / batch. ETA={:.0f} s".format(
                idx + 1, total, per_batch, per_batch * (total - idx - 1)), n=30)
    log.info("Total inference time: {:.2f} s ({} batches)".format(time.perf_counter() - start, total))
    return evaluator.evaluate() or {}
