"""`ClipDataset`: tracklets in, clips out (the video counterpart of fast-reid's CommDataset).

Each item is a fast-reid batch element (a dict of tensors):
    train:  images [T, 3, H, W], targets, camids, keypoints [T, 17, 3] (if cached)
    test:   images [n_clips, T, 3, H, W], num_clips, targets, camids, keypoints
Frames are decoded when asked for, never held in memory. A training item asked for
as `(index, seed)` (see `seeded_sampling.SeededBatchSampler`) draws its frames and
its augmentation from a generator seeded with `seed`; a plain index uses torch's
global RNG.
"""
import numpy as np
import torch
from torch.utils.data import Dataset

from ..io import read_frame
from .clips import evaluation_clip_indices, restricted_random_indices


class ClipDataset(Dataset):
    """items:     `(FrameSpan, pid, camid)` tuples (fast-reid samplers read item[1], item[2])
    transform:    a `ClipTransform`
    seq_len:      frames per clip (T)
    test_mode:    None for training (RRS clips), else VIDEO.TEST.MODE
    keypoints:    {FrameList: KeypointCache} when key-points are cached, else None
    relabel:      map train pids/camids to 0..n-1 as fast-reid's CommDataset does
    """

    def __init__(self, items, transform, seq_len, test_mode=None, keypoints=None, relabel=False):
        self.img_items = items
        self.transform = transform
        self.seq_len = seq_len
        self.test_mode = test_mode
        self.keypoints = keypoints
        self.relabel = relabel
        self.pids = sorted({item[1] for item in items})
        self.cams = sorted({item[2] for item in items})
        self.pid_dict = {p: i for i, p in enumerate(self.pids)}
        self.cam_dict = {c: i for i, c in enumerate(self.cams)}
        for span, _, _ in items:
            if len(span) < 1:
                raise ValueError(f"empty tracklet {span}: datasets must skip empty tracklets")

    def __len__(self):
        return len(self.img_items)

    @property
    def num_classes(self):
        return len(self.pids)

    @property
    def num_cameras(self):
        return len(self.cams)

    def cached_keypoints(self, span, frame_indices):
        """Cached key-points [n, 17, 3] (frame pixels) of frames `frame_indices` of a tracklet's
        span, or None when the dataset reads no key-point cache."""
        if self.keypoints is None:
            return None
        return self.keypoints[span.frames].lookup(span.start + np.asarray(frame_indices))

    def clip_indices(self, span, generator=None):
        if self.test_mode is None:
            return restricted_random_indices(len(span), self.seq_len, generator)[None, :]
        return evaluation_clip_indices(len(span), self.seq_len, self.test_mode)

    def __getitem__(self, index):
        generator = None
        if isinstance(index, tuple):
            index, seed = index
            generator = torch.Generator().manual_seed(seed)
        span, pid, camid = self.img_items[index]
        indices = self.clip_indices(span, generator)  # [n_clips, T]
        unique, inverse = np.unique(indices, return_inverse=True)
        decoded = [read_frame(span.path(int(i))) for i in unique]
        frames = [decoded[j] for j in inverse.reshape(-1)]
        kps = self.cached_keypoints(span, indices.reshape(-1))
        images, kps = self.transform(frames, kps, generator)
        n_clips, t = indices.shape
        if self.relabel:
            pid, camid = self.pid_dict[pid], self.cam_dict[camid]
        out = {"targets": pid, "camids": camid}
        if self.test_mode is None:
            out["images"] = images
        else:
            out["images"] = images.view(n_clips, t, *images.shape[1:])
            out["num_clips"] = n_clips
        if kps is not None:
            out["keypoints"] = kps if self.test_mode is None else kps.view(n_clips, t, *kps.shape[1:])
        return out


def clip_batch_collator(batch):
    """Test batches: the clips of all tracklets concatenated, with `num_clips` per tracklet."""
    out = {
        "images": torch.cat([b["images"] for b in batch]),
        "num_clips": torch.tensor([b["num_clips"] for b in batch]),
        "targets": torch.tensor([b["targets"] for b in batch]),
        "camids": torch.tensor([b["camids"] for b in batch]),
    }
    if "keypoints" in batch[0]:
        out["keypoints"] = torch.cat([b["keypoints"] for b in batch])
    return out
