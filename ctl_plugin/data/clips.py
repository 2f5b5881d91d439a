"""Which frames of a tracklet make a clip.

Train: restricted random sampling (RRS): the tracklet is cut into T equal chunks
and one random frame is drawn from each, so a clip spans the whole tracklet in
temporal order. Test: every frame, in consecutive T-frame clips ("all") or in
clips that each span the tracklet like a training clip ("interleaved"), or the
first frame of each chunk ("chunk_first").
"""
import numpy as np
import torch

from ..config import ConfigError


def chunk_bounds(length, seq_len):
    """[lo, hi) of each of the `seq_len` chunks of a tracklet of `length` frames.

    Chunk i starts at floor(i * length / seq_len). A tracklet shorter than the clip
    has single-frame chunks that repeat frames evenly, in temporal order.
    """
    if length < 1:
        raise ValueError(f"a tracklet of {length} frames cannot make a clip")
    edges = (np.arange(seq_len + 1) * length) // seq_len
    lo = edges[:-1]
    hi = np.maximum(edges[1:], lo + 1)
    return lo, hi


def restricted_random_indices(length, seq_len, generator=None):
    """RRS: one random frame from each of `seq_len` equal chunks -> indices [seq_len]."""
    lo, hi = chunk_bounds(length, seq_len)
    u = torch.rand(seq_len, generator=generator).numpy()
    return lo + np.floor(u * (hi - lo)).astype(np.int64)


def chunk_first_indices(length, seq_len):
    """The first frame of each of `seq_len` equal chunks -> indices [1, seq_len]."""
    return chunk_bounds(length, seq_len)[0][None, :]


def all_frame_clips(length, seq_len):
    """Every frame, in consecutive clips -> indices [n_clips, seq_len]; the last clip is
    padded by repeating the tracklet's last frame."""
    if length < 1:
        raise ValueError(f"a tracklet of {length} frames cannot make a clip")
    n_clips = -(-length // seq_len)
    idx = np.minimum(np.arange(n_clips * seq_len), length - 1)
    return idx.reshape(n_clips, seq_len)


def interleaved_clips(length, seq_len):
    """Every frame, in clips spread over the whole tracklet as RRS spreads a training clip
    -> indices [n_clips, seq_len]: clip j takes frame j of each of the `seq_len` equal
    chunks (a chunk's last frame once it runs out), n_clips being the longest chunk."""
    lo, hi = chunk_bounds(length, seq_len)
    n_clips = int((hi - lo).max())
    return np.minimum(lo[None, :] + np.arange(n_clips)[:, None], hi[None, :] - 1)


TEST_MODES = {"all": all_frame_clips, "interleaved": interleaved_clips, "chunk_first": chunk_first_indices}


def evaluation_clip_indices(length, seq_len, mode):
    if mode not in TEST_MODES:
        raise ConfigError(f"VIDEO.TEST.MODE '{mode}' is unknown; expected one of {sorted(TEST_MODES)}")
    return TEST_MODES[mode](length, seq_len)
