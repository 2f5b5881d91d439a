"""Appearance embeddings of detections from a re-ID model of the plugin, for DeepSORT."""
import numpy as np
import torch
import torch.nn.functional as F

from ..engine import build_test_model
from .tracklet_writer import crop


class ReidEmbedder:
    """(BGR frame, boxes [n, 4] x1 y1 x2 y2) -> L2-normalised embeddings [n, D] float32.

    Each box is cropped as the tracklet writer crops it (black outside the frame), resized
    to `size` (H, W) and given to `model`, in eval mode, as a one-frame clip (RGB 0-255),
    `batch_size` crops at a time; the model's test feature is the embedding. Any model whose
    test feature needs one frame and no cached key-points works: VideoBaseline, GRL, CTL
    with KEYPOINTS.SOURCE online (STMN's temporal memory needs VIDEO.TEST.SEQ_LEN frames).
    """

    def __init__(self, model, size, batch_size=64):
        self.model = model.eval().to(memory_format=torch.channels_last)  # about 2x faster on CPU
        self.size = tuple(size)
        self.batch_size = batch_size

    @torch.no_grad()
    def __call__(self, frame, boxes):
        if len(boxes) == 0:
            return np.zeros((0, 0), np.float32)
        crops = np.stack([crop(frame, box, self.size)[..., ::-1] for box in boxes])  # BGR -> RGB
        images = torch.from_numpy(np.ascontiguousarray(crops)).permute(0, 3, 1, 2).float().unsqueeze(1)
        feats = [self.model({"images": images[i:i + self.batch_size]}).float().cpu()
                 for i in range(0, len(images), self.batch_size)]
        return F.normalize(torch.cat(feats), dim=1).numpy()


def build_reid_embedder(cfg, batch_size=64):
    """`ReidEmbedder` of the model of `cfg` (`build_test_model`: MODEL.WEIGHTS, or the
    backbone's ImageNet weights when it is empty) at INPUT.SIZE_TEST."""
    return ReidEmbedder(build_test_model(cfg), cfg.INPUT.SIZE_TEST, batch_size)
