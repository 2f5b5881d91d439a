"""Drawing functions: picture sizes, border colours by identity, AP against a naive
count, key-point colours, and CTL's adjacency read out of a model."""
import numpy as np
import pytest
import torch
from PIL import Image

from ctl_plugin.keypoints.skeleton import LINKS
from ctl_plugin.visualization import adjacency, ap_distribution, keypoints, ranklist


def read_png(path):
    return np.asarray(Image.open(path).convert("RGB"))


def test_rank_lists_drop_same_camera_matches_and_order_by_distance():
    dist = np.array([[0.5, 0.1, 0.3, 0.2], [0.4, 0.3, 0.2, 0.1]])
    idx, match = ranklist.rank_lists(dist, [7, 8], [7, 7, 9, 8], [1, 2], [1, 2, 1, 2], topk=4)
    # query 0 (pid 7, cam 1): gallery 0 is pid 7 in cam 1 -> removed
    assert idx[0].tolist() == [1, 3, 2, -1]
    assert match[0].tolist() == [True, False, False, False]
    # query 1 (pid 8, cam 2): gallery 3 is pid 8 in cam 2 -> removed, no match left
    assert idx[1].tolist() == [2, 1, 0, -1]
    assert not match[1].any()


def test_rank_list_borders_green_for_same_identity_red_otherwise(tmp_path):
    rng = np.random.default_rng(0)
    q = [rng.integers(0, 255, (20, 10, 3), dtype=np.uint8) for _ in range(3)]
    gallery = [[rng.integers(0, 255, (20, 10, 3), dtype=np.uint8)] for _ in range(4)]
    g_pids, q_pid = [5, 6, 5, 9], 5
    matches = [p == q_pid for p in g_pids]
    size, border, gap, label = (32, 16), 3, 6, 14
    img = ranklist.draw_rank_list(q, gallery, [0.1, 0.2, 0.3, 0.4], matches, tile_size=size,
                                  border=border, gap=gap, label_height=label)
    path = tmp_path / "r.png"
    ranklist.save_png(img, path)
    back = read_png(path)
    assert back.shape[:2] == ranklist.rank_list_size(3, 1, 4, size, border, gap, label)
    assert back.shape[:2] == (label + 32 + 2 * border + label, 3 * 16 + 2 * border + 4 * (gap + 16 + 2 * border))
    x = 3 * 16 + 2 * border
    for pid in g_pids:
        x += gap
        expect = ranklist.GREEN if pid == q_pid else ranklist.RED
        # the four borders of the tile all carry the colour
        for y, xx in ((label, x + 8), (label + 32 + 2 * border - 1, x + 8), (label + 16, x),
                      (label + 16, x + 16 + 2 * border - 1)):
            assert tuple(back[y, xx]) == expect
        x += 16 + 2 * border
    # the query frames sit unchanged (same size) inside the query strip
    assert np.array_equal(back[label + border:label + border + 32, border:border + 16],
                          ranklist.fit_tile(q[0], size))


def test_average_precision_matches_a_naive_count():
    rng = np.random.default_rng(1)
    matches = rng.random((6, 9)) < 0.3
    matches[0] = False
    idx = np.tile(np.arange(9), (6, 1))
    relevant = matches.sum(1)
    aps = ap_distribution.query_average_precisions(idx, matches, relevant)
    for q in range(6):
        hits, total = 0, 0.0
        for r in range(9):
            if matches[q, r]:
                hits += 1
                total += hits / (r + 1)
        if relevant[q] == 0:
            assert np.isnan(aps[q])
        else:
            assert aps[q] == pytest.approx(total / relevant[q])


def test_ap_histogram_png_has_requested_size(tmp_path):
    path = tmp_path / "ap.png"
    ap_distribution.draw_ap_histogram([0.1, 0.5, 1.0, np.nan], path, size_px=(300, 400))
    assert read_png(path).shape == (300, 400, 3)


def test_keypoints_drawn_with_confidence_colours_and_links():
    frame = np.zeros((40, 20, 3), np.uint8)
    kps = np.zeros((17, 3), np.float32)
    kps[:, 0] = np.linspace(2, 17, 17)
    kps[:, 1] = np.linspace(2, 37, 17)
    kps[:, 2] = np.linspace(0, 1, 17)
    out = keypoints.draw_keypoints(frame, kps, radius=1)
    assert out.shape == (40, 20, 3)
    for k in (0, 16):
        x, y = np.round(kps[k, :2]).astype(int)
        assert tuple(out[y, x]) == keypoints.confidence_colour(kps[k, 2])
    assert keypoints.confidence_colour(0.0) != keypoints.confidence_colour(1.0)
    # only a linked pair above min_confidence: the midpoint of its link is white, nothing else drawn
    i, j = LINKS[0]  # left ankle - left knee
    pair = np.zeros((17, 3), np.float32)
    pair[i], pair[j] = (3, 35, 0.9), (15, 5, 0.8)
    out = keypoints.draw_keypoints(frame, pair, min_confidence=0.5, radius=1)
    assert tuple(out[20, 9]) == keypoints.LINK_COLOUR
    assert (out.sum(-1) > 0).sum() < 60
    clip = keypoints.draw_keypoint_clip([frame, frame, frame], np.stack([kps] * 3), scale=2)
    assert clip.shape == (80, 120, 3)
    with pytest.raises(ValueError, match=r"\(17, 3\)"):
        keypoints.draw_keypoints(frame, kps[:5])


def test_window_mean_averages_frame_blocks():
    n, tau = 3, 2
    a = torch.arange(2 * 4 * (tau * n) ** 2, dtype=torch.float32).view(2, 4, tau * n, tau * n)
    naive = torch.zeros(n, n)
    for b in range(2):
        for t in range(4):
            for wi in range(tau):
                for wj in range(tau):
                    naive += a[b, t, wi * n:(wi + 1) * n, wj * n:(wj + 1) * n]
    assert torch.allclose(adjacency.window_mean(a, n), naive / (2 * 4 * tau * tau))


def test_adjacency_png(tmp_path):
    path = tmp_path / "a.png"
    adjacency.draw_adjacency(np.eye(5), adjacency.NODE_NAMES["s3"], "A^m", path)
    assert read_png(path).shape[0] > 5 * 28
    with pytest.raises(ValueError, match="5 node names"):
        adjacency.draw_adjacency(np.eye(4), adjacency.NODE_NAMES["s3"], "A^m", path)
