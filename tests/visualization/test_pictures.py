"""Drawing functions: picture sizes, border colours by identity, AP against a naive
count, key-point colours, CTL's adjacency read out of a model, and mAP curves."""
from ctl_plugin.keypoints.skeleton import LINKS
from ctl_plugin.visualization import adjacency, ap_distribution, keypoints, map_curves, ranklist

import numpy as np
import pytest
import torch
from PIL import Image


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


def test_topology_reads_each_layers_mask_and_context_by_scale():
    from ctl_plugin.modeling.graph import CTLGraph
    torch.manual_seed(0)
    graph = CTLGraph(8, num_frames=4, window=3, embed_dim=4).eval()
    with torch.no_grad():
        for layer in graph.layers:
            layer.mask.uniform_(-0.2, 0.2)
    fmaps = torch.randn(2, 4, 8, 4, 2)
    heat = torch.softmax(torch.randn(2, 4, 17, 8), -1).view(2, 4, 17, 4, 2)
    topo = graph.topology(fmaps, heat)
    assert set(topo) == {(i, s) for i in range(2) for s in ("s1", "s2", "s3")}
    _, nodes = graph.part_features(fmaps, heat)  # the first layer's input
    first = graph.layers[0]
    context = first.context(nodes).view(2, 4, 3, 32, 3, 32)
    for scale, sl in graph.slices.items():
        assert torch.equal(topo[0, scale]["mask"], (first.mask * first.mask_support)[sl, sl])
        assert torch.allclose(topo[0, scale]["context"], context[..., sl, :, sl])
    second_input = first(nodes)  # no shortcut into the first layer's output
    sl = graph.slices["s3"]
    assert torch.allclose(topo[1, "s3"]["context"],
                          graph.layers[1].context(second_input).view(2, 4, 3, 32, 3, 32)[..., sl, :, sl])


def test_mean_contexts_average_every_window_and_frame_block():
    n, tau = 3, 2
    contexts = [torch.rand(2, 4, tau, n, tau, n), torch.rand(1, 4, tau, n, tau, n)]

    class Model(torch.nn.Module):
        def topology(self, batch):
            return {(0, "s3"): {"mask": None, "context": contexts[batch]}}

    naive = torch.zeros(n, n)
    for c in contexts:
        for window in c.reshape(-1, tau, n, tau, n):
            naive += sum(window[i, :, j] for i in range(tau) for j in range(tau)) / tau ** 2
    mean = adjacency.mean_contexts(Model(), [0, 1])[0, "s3"]
    assert np.allclose(mean, (naive / 12).numpy(), atol=1e-6)


def test_adjacency_png(tmp_path):
    path = tmp_path / "a.png"
    adjacency.draw_adjacency(np.eye(5), adjacency.NODE_NAMES["s3"], "A^m", path)
    assert read_png(path).shape[0] > 5 * 28
    with pytest.raises(ValueError, match="5 node names"):
        adjacency.draw_adjacency(np.eye(4), adjacency.NODE_NAMES["s3"], "A^m", path)


def test_map_curves_draw_the_mean_over_seeds_at_shared_iterations(tmp_path):
    curves = {"baseline": [[[96, 60.0], [192, 70.0], [384, 80.0]], [[96, 50.0], [192, 74.0], [384, 78.0]]],
              "ctl": [[[96, 40.0], [384, 90.0]], [[96, 42.0], [288, 1.0], [384, 86.0]]]}
    path = tmp_path / "curves.png"
    means = map_curves.draw_map_curves(curves, path, "title", size_px=(300, 400))
    assert means == {"baseline": [[96, 55.0], [192, 72.0], [384, 79.0]], "ctl": [[96, 41.0], [384, 88.0]]}
    image = read_png(path)
    assert image.shape == (300, 400, 3) and image.std() > 10  # lines, not a blank page
