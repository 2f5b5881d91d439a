"""Clip sampling (RRS, all frames, first frame per chunk) and clip-consistent augmentation."""
from ctl_plugin.config import ConfigError
from ctl_plugin.data import clips
from ctl_plugin.data.transforms import ClipTransform
from ctl_plugin.keypoints.skeleton import FLIP_INDEX

import numpy as np
import pytest
import torch


@pytest.mark.parametrize("length", [1, 4, 6, 7, 13, 36, 100])
def test_rrs_draws_one_frame_per_equal_chunk(length):
    g = torch.Generator().manual_seed(length)
    lo, hi = clips.chunk_bounds(length, 6)
    seen = set()
    for _ in range(200):
        idx = clips.restricted_random_indices(length, 6, g)
        assert idx.shape == (6,) and (idx >= lo).all() and (idx < hi).all()
        assert (np.diff(idx) >= 0).all()  # temporal order
        seen.update(idx.tolist())
    assert seen == set(range(length))  # every frame can be drawn
    if length >= 6:  # chunks are equal up to one frame and tile the tracklet
        sizes = hi - lo
        assert sizes.max() - sizes.min() <= 1 and sizes.sum() == length and lo[0] == 0


def test_short_tracklets_repeat_frames_evenly():
    lo, hi = clips.chunk_bounds(4, 6)
    assert lo.tolist() == [0, 0, 1, 2, 2, 3] and (hi - lo).tolist() == [1] * 6


@pytest.mark.parametrize("length", [1, 4, 6, 7, 14, 23, 100])
def test_interleaved_clips_cover_every_frame_with_one_frame_per_chunk(length):
    idx = clips.interleaved_clips(length, 6)
    lo, hi = clips.chunk_bounds(length, 6)
    assert idx.shape == (int((hi - lo).max()), 6)
    assert set(idx.ravel().tolist()) == set(range(length))  # every frame, none outside
    for clip in idx:  # like an RRS draw: frame k of the clip lies in chunk k, in order
        assert ((clip >= lo) & (clip < hi)).all() and (np.diff(clip) >= 0).all()


def test_interleaved_clips_by_hand():
    assert clips.interleaved_clips(14, 6).tolist() == [[0, 2, 4, 7, 9, 11], [1, 3, 5, 8, 10, 12],
                                                       [1, 3, 6, 8, 10, 13]]
    assert clips.evaluation_clip_indices(4, 6, "interleaved").tolist() == [[0, 0, 1, 2, 2, 3]]


def test_all_frames_clips_pad_the_last_clip():
    idx = clips.all_frame_clips(14, 6)
    assert idx.tolist() == [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11], [12, 13, 13, 13, 13, 13]]
    assert clips.all_frame_clips(6, 6).tolist() == [[0, 1, 2, 3, 4, 5]]
    assert clips.chunk_first_indices(14, 6).tolist() == [[0, 2, 4, 7, 9, 11]]
    with pytest.raises(ConfigError, match="VIDEO.TEST.MODE"):
        clips.evaluation_clip_indices(14, 6, "dense")
    with pytest.raises(ValueError, match="0 frames"):
        clips.all_frame_clips(0, 6)


def frames_with_marks(t=4, h=40, w=20):
    """Frames whose pixel (y, x) encodes x, plus key-points at known pixels."""
    frames = []
    for i in range(t):
        f = np.zeros((h, w, 3), np.uint8)
        f[..., 0] = np.arange(w)[None, :] * 10
        f[..., 1] = i * 20
        frames.append(f)
    kps = np.zeros((t, 17, 3), np.float32)
    kps[..., 0] = np.arange(17)[None] % w
    kps[..., 1] = 2 * np.arange(17)[None]
    kps[..., 2] = 1.0
    return frames, kps


def test_resize_scales_keypoints_to_input_pixels():
    frames, kps = frames_with_marks(h=40, w=20)
    images, out = ClipTransform((80, 40))(frames, kps)
    assert images.shape == (4, 3, 80, 40) and images.dtype == torch.float32
    assert torch.allclose(out[..., 0], torch.from_numpy((kps[..., 0] + 0.5) * 2 - 0.5))
    assert torch.allclose(out[..., 1], torch.from_numpy((kps[..., 1] + 0.5) * 2 - 0.5))


def test_one_decision_per_clip_moves_frames_and_keypoints_together():
    frames, kps = frames_with_marks()
    plain, plain_kps = ClipTransform((40, 20))(frames, kps)
    t = ClipTransform((40, 20), flip_prob=1.0, padding=3, erase_prob=1.0, erase_value=(1.0, 2.0, 3.0))
    g = torch.Generator().manual_seed(3)
    images, out = t(frames, kps, generator=g)
    erased = (images == torch.tensor([1.0, 2.0, 3.0]).view(1, 3, 1, 1)).all(1)  # [T, H, W]
    assert erased.any() and (erased == erased[0]).all()  # same rectangle in every frame
    # the same flip + shift for every frame: un-erased, un-padded pixels are a shifted mirror
    diff = [(images[i, 0] - images[0, 0]) for i in range(4)]
    assert all(torch.equal(d, torch.zeros_like(d)) for d in diff)  # channel 0 carries x only
    g = torch.Generator().manual_seed(3)
    torch.rand(1, generator=g)
    dy, dx = (int(v) for v in torch.randint(0, 7, (2,), generator=g))
    expect_kps = plain_kps[:, FLIP_INDEX].clone()
    expect_kps[..., 0] = 19 - expect_kps[..., 0] + 3 - dx
    expect_kps[..., 1] += 3 - dy
    assert torch.allclose(out, expect_kps)
    # a pixel the key-point sits on carries the same content as before (mirror + shift)
    src = plain[0, 0].flip(-1)
    padded = torch.nn.functional.pad(src, (3, 3, 3, 3))
    window = padded[dy:dy + 40, dx:dx + 20]
    keep = ~erased[0]
    assert torch.equal(images[0, 0][keep], window[keep])


def test_test_transform_only_resizes():
    frames, kps = frames_with_marks()
    a, ka = ClipTransform((40, 20))(frames, kps)
    b, kb = ClipTransform((40, 20))(frames, kps)
    assert torch.equal(a, b) and torch.equal(ka, kb)


def test_unsupported_input_augmentation_is_refused():
    from fastreid.config import get_cfg
    cfg = get_cfg()
    cfg.INPUT.CJ.ENABLED = True
    with pytest.raises(ValueError, match="INPUT.CJ.ENABLED"):
        ClipTransform.from_config(cfg, is_train=True)
