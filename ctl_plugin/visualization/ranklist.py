"""Rank lists: each query tracklet beside its top-k gallery tracklets.

Galleries follow fast-reid's evaluation protocol: gallery tracklets of the
query's identity seen by the query's camera are left out. A match is a gallery
tracklet of the query's identity; its tile gets a green border, any other a red one,
and a grey one where the query's identity is unknown.
"""
import numpy as np
from PIL import Image, ImageDraw

from ..io import read_frame

GREEN = (0, 200, 0)
RED = (220, 0, 0)
QUERY_COLOUR = (40, 40, 40)
UNKNOWN = (150, 150, 150)
BACKGROUND = (255, 255, 255)
TEXT = (0, 0, 0)


def rank_lists(distmat, q_pids, g_pids, q_camids, g_camids, topk):
    """(indices [Q, topk], matches [Q, topk]): gallery indices by increasing distance,
    same identity and camera as the query removed; -1 / False pad short lists."""
    distmat = np.asarray(distmat)
    q_pids, g_pids = np.asarray(q_pids), np.asarray(g_pids)
    q_camids, g_camids = np.asarray(q_camids), np.asarray(g_camids)
    if distmat.shape != (len(q_pids), len(g_pids)):
        raise ValueError(f"distmat has shape {distmat.shape}, expected ({len(q_pids)}, {len(g_pids)})")
    indices = np.full((len(q_pids), topk), -1, dtype=np.int64)
    matches = np.zeros((len(q_pids), topk), dtype=bool)
    for q in range(len(q_pids)):
        order = np.argsort(distmat[q], kind="stable")
        keep = ~((g_pids[order] == q_pids[q]) & (g_camids[order] == q_camids[q]))
        order = order[keep][:topk]
        indices[q, :len(order)] = order
        matches[q, :len(order)] = g_pids[order] == q_pids[q]
    return indices, matches


def spread_frames(span, count):
    """(frames, indices): `count` frames evenly spread over a tracklet (`FrameSpan`), its
    last frame repeated when it is shorter."""
    idx = np.unique(np.linspace(0, len(span) - 1, num=min(count, len(span))).round().astype(int))
    frames = [read_frame(span.path(int(i))) for i in idx]
    return frames + [frames[-1]] * (count - len(frames)), idx


def fit_tile(frame, size):
    """An RGB uint8 frame [h, w, 3] resized to `size` (H, W)."""
    frame = np.asarray(frame, dtype=np.uint8)
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"frames must be RGB arrays [h, w, 3], got shape {frame.shape}")
    return np.asarray(Image.fromarray(frame).resize((size[1], size[0]), Image.BILINEAR))


def framed_strip(frames, size, colour, border):
    """Frames side by side at `size`, inside a `border`-pixel frame of `colour`."""
    h, w = size
    strip = np.empty((h + 2 * border, len(frames) * w + 2 * border, 3), np.uint8)
    strip[:] = colour
    for i, frame in enumerate(frames):
        strip[border:border + h, border + i * w:border + (i + 1) * w] = fit_tile(frame, size)
    return strip


def rank_list_size(num_query_frames, num_gallery_frames, topk, tile_size=(64, 32), border=3,
                   gap=6, label_height=14):
    """(H, W) in pixels of the picture `draw_rank_list` makes."""
    h, w = tile_size
    height = label_height + h + 2 * border + label_height
    width = (num_query_frames * w + 2 * border) + topk * (gap + num_gallery_frames * w + 2 * border)
    return height, width


def draw_rank_list(query_frames, gallery_frames, distances, matches, tile_size=(64, 32), border=3,
                   gap=6, label_height=14):
    """One rank list as an RGB uint8 array.

    query_frames:   frames [h, w, 3] of the query tracklet
    gallery_frames: per ranked gallery tracklet, its frames (the same count for each)
    distances:      distance of each ranked gallery tracklet, printed under it
    matches:        True where the gallery tracklet has the query's identity (green), False
                    where not (red), None where unknown (grey)
    """
    if not (len(gallery_frames) == len(distances) == len(matches)):
        raise ValueError(f"gallery_frames, distances and matches differ in length: "
                         f"{len(gallery_frames)}, {len(distances)}, {len(matches)}")
    n_gallery_frames = len(gallery_frames[0]) if gallery_frames else 1
    if any(len(frames) != n_gallery_frames for frames in gallery_frames):
        raise ValueError("every gallery tracklet needs the same number of frames")
    height, width = rank_list_size(len(query_frames), n_gallery_frames, len(gallery_frames),
                                   tile_size, border, gap, label_height)
    canvas = np.empty((height, width, 3), np.uint8)
    canvas[:] = BACKGROUND
    top = label_height
    strip = framed_strip(query_frames, tile_size, QUERY_COLOUR, border)
    canvas[top:top + strip.shape[0], :strip.shape[1]] = strip
    lefts = []
    x = strip.shape[1]
    for frames, match in zip(gallery_frames, matches):
        x += gap
        colour = UNKNOWN if match is None else GREEN if match else RED
        strip = framed_strip(frames, tile_size, colour, border)
        canvas[top:top + strip.shape[0], x:x + strip.shape[1]] = strip
        lefts.append(x)
        x += strip.shape[1]
    image = Image.fromarray(canvas)
    draw = ImageDraw.Draw(image)
    draw.text((1, 1), "query", fill=TEXT)
    bottom = top + tile_size[0] + 2 * border + 1
    for rank, (left, dist) in enumerate(zip(lefts, distances), start=1):
        draw.text((left + 1, 1), f"#{rank}", fill=TEXT)
        draw.text((left + 1, bottom), f"{dist:.3f}", fill=TEXT)
    return np.asarray(image)


def save_png(image, path):
    """Write an RGB uint8 array as PNG."""
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(path, format="PNG")
