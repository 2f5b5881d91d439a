"""Clip-consistent augmentation.

fast-reid's image transforms draw a new random decision for every image; on a
clip that would flip one frame and not the next. `ClipTransform` draws each
decision once per clip (flip, pad-and-crop offset, random-erasing rectangle),
applies it to every frame, and moves the clip's key-points with the frames:
resizing scales them, a flip mirrors x and swaps left/right, a crop shifts them.
Random erasing hides pixels but leaves key-point locations unchanged.

It reads fast-reid's own INPUT.* keys; INPUT augmentations that have no clip
version here (colour jitter, AugMix, AutoAugment, affine, RPT, crop-resize) are
refused by name rather than silently ignored.
"""
import math

import cv2
import numpy as np
import torch

from ..keypoints.skeleton import flip_keypoints

UNSUPPORTED_INPUT_KEYS = ("CROP", "AUGMIX", "AUTOAUG", "CJ", "AFFINE", "RPT")


class ClipTransform:
    """Resize every frame to `size` (H, W); in training also flip, pad-and-crop and
    erase, each decided once per clip.

    Returns images float [T, 3, H, W] with 0-255 values (fast-reid's convention;
    the model normalises) and key-points [T, 17, 3] in input pixels.
    """

    def __init__(self, size, flip_prob=0.0, padding=0, pad_mode="constant", erase_prob=0.0,
                 erase_value=(0.0, 0.0, 0.0), erase_scale=(0.02, 0.33), erase_ratio=(0.3, 3.3)):
        self.size = tuple(size)
        self.flip_prob = flip_prob
        self.padding = padding
        self.pad_mode = pad_mode
        self.erase_prob = erase_prob
        self.erase_value = torch.tensor(erase_value, dtype=torch.float32).view(1, 3, 1, 1)
        self.erase_scale = erase_scale
        self.erase_ratio = erase_ratio

    @classmethod
    def from_config(cls, cfg, is_train):
        if not is_train:
            return cls(cfg.INPUT.SIZE_TEST)
        enabled = [k for k in UNSUPPORTED_INPUT_KEYS if cfg.INPUT[k].ENABLED]
        if enabled:
            raise ValueError(f"INPUT.{enabled[0]}.ENABLED is not supported for video clips "
                             f"(clip-consistent versions exist for FLIP, PADDING and REA only)")
        return cls(
            cfg.INPUT.SIZE_TRAIN,
            flip_prob=cfg.INPUT.FLIP.PROB if cfg.INPUT.FLIP.ENABLED else 0.0,
            padding=cfg.INPUT.PADDING.SIZE if cfg.INPUT.PADDING.ENABLED else 0,
            pad_mode=cfg.INPUT.PADDING.MODE,
            erase_prob=cfg.INPUT.REA.PROB if cfg.INPUT.REA.ENABLED else 0.0,
            erase_value=cfg.INPUT.REA.VALUE,
        )

    def resize(self, frames, keypoints):
        """Frames (list of RGB uint8 arrays) -> [T, 3, H, W] float; key-points to input pixels."""
        h, w = self.size
        out = np.stack([cv2.resize(f, (w, h), interpolation=cv2.INTER_LINEAR) for f in frames])
        images = torch.from_numpy(out).permute(0, 3, 1, 2).float()
        if keypoints is not None:
            keypoints = torch.as_tensor(keypoints, dtype=torch.float32).clone()
            sx = torch.tensor([w / f.shape[1] for f in frames]).view(-1, 1)
            sy = torch.tensor([h / f.shape[0] for f in frames]).view(-1, 1)
            keypoints[..., 0] = (keypoints[..., 0] + 0.5) * sx - 0.5
            keypoints[..., 1] = (keypoints[..., 1] + 0.5) * sy - 0.5
        return images, keypoints

    def __call__(self, frames, keypoints=None, generator=None):
        images, keypoints = self.resize(frames, keypoints)
        h, w = self.size
        rand = lambda *shape: torch.rand(shape, generator=generator)  # noqa: E731
        if self.flip_prob > 0 and rand(1).item() < self.flip_prob:
            images = images.flip(-1)
            if keypoints is not None:
                keypoints = flip_keypoints(keypoints, w)
        if self.padding > 0:
            p = self.padding
            mode = {"constant": "constant", "edge": "replicate", "reflect": "reflect"}[self.pad_mode]
            padded = torch.nn.functional.pad(images, (p, p, p, p), mode=mode)
            dy, dx = (int(v) for v in torch.randint(0, 2 * p + 1, (2,), generator=generator))
            images = padded[..., dy:dy + h, dx:dx + w].contiguous()
            if keypoints is not None:
                keypoints[..., 0] += p - dx
                keypoints[..., 1] += p - dy
        if self.erase_prob > 0 and rand(1).item() < self.erase_prob:
            box = self._erase_box(h, w, generator)
            if box is not None:
                y, x, eh, ew = box
                images[..., y:y + eh, x:x + ew] = self.erase_value
        return images, keypoints

    def _erase_box(self, h, w, generator, attempts=10):
        """A rectangle of random area and aspect ratio, as torchvision's RandomErasing draws it."""
        log_ratio = (math.log(self.erase_ratio[0]), math.log(self.erase_ratio[1]))
        for _ in range(attempts):
            area = h * w * float(torch.empty(1).uniform_(*self.erase_scale, generator=generator))
            ratio = math.exp(float(torch.empty(1).uniform_(*log_ratio, generator=generator)))
            eh, ew = int(round(math.sqrt(area * ratio))), int(round(math.sqrt(area / ratio)))
            if eh < h and ew < w:
                y = int(torch.randint(0, h - eh + 1, (1,), generator=generator))
                x = int(torch.randint(0, w - ew + 1, (1,), generator=generator))
                return y, x, eh, ew
        return None
