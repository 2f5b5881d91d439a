"""Writing tracklets as a `VideoFolder` split: re-ID crops and a table of boxes."""
import csv
import glob
import os
import os.path as osp
import shutil

import cv2
import numpy as np

TRACKS_CSV_FIELDS = ("tracklet", "pid", "camid", "frame", "x1", "y1", "x2", "y2", "detected")
# with key-points: x, y (pixels of the crop) and confidence of each of the 17 COCO key-points
KEYPOINT_FIELDS = tuple(f"kp{k}_{v}" for k in range(17) for v in ("x", "y", "c"))


def crop(frame, box, size):
    """The box's pixels resized to `size` (H, W); parts outside the frame are black."""
    height, width = frame.shape[:2]
    x1, y1, x2, y2 = np.round(box).astype(int)
    canvas = np.zeros((max(y2 - y1, 1), max(x2 - x1, 1), 3), frame.dtype)
    sx1, sy1, sx2, sy2 = max(x1, 0), max(y1, 0), min(x2, width), min(y2, height)
    if sx2 > sx1 and sy2 > sy1:
        canvas[sy1 - y1:sy2 - y1, sx1 - x1:sx2 - x1] = frame[sy1:sy2, sx1:sx2]
    return cv2.resize(canvas, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)


def tracklet_dir(split_dir, pid, camid, name):
    return osp.join(split_dir, str(pid), str(camid), name)


def video_tracklets(split_dir, camid, prefix):
    """Folders of the split's tracklets on camera `camid` whose names start with `prefix`."""
    if not osp.isdir(split_dir):
        return []
    return [osp.join(split_dir, p, str(camid), t) for p in sorted(os.listdir(split_dir))
            if osp.isdir(osp.join(split_dir, p, str(camid)))
            for t in sorted(os.listdir(osp.join(split_dir, p, str(camid)))) if t.startswith(prefix)]


def remove_tracklets(folders):
    """Delete tracklet folders, and their <camid> and <pid> folders where they end up empty."""
    for folder in folders:
        shutil.rmtree(folder)
        for parent in (osp.dirname(folder), osp.dirname(osp.dirname(folder))):
            if not os.listdir(parent):
                os.rmdir(parent)


def next_pid(split_dir):
    """One more than the split's largest pid (0 for a new split)."""
    pids = [int(p) for p in os.listdir(split_dir) if p.isdigit()] if osp.isdir(split_dir) else []
    return max(pids, default=-1) + 1


def write_tracklets(frames, tracks, split_dir, camid=0, pid_start=0, size=(256, 128), prefix="t",
                    keypoints=None, progress=None):
    """Crop every tracklet from `frames` (an iterable of (index, BGR frame) in order) into
    `split_dir/<pid>/<camid>/<prefix><track id>/<frame>.jpg`, one identity per tracklet
    (pid_start, pid_start + 1, ...), and its boxes into `<split_dir>-<prefix>tracks.csv`.
    keypoints: (BGR frame, box) -> [17, 3] in the crop's pixels (e.g. `ContextKeypoints`);
    its values join each crop's row (KEYPOINT_FIELDS). progress: called once per crop.

    Returns the CSV's path. Only the frames the tracklets span are decoded into crops.
    """
    dense = [(t, pid_start + i, *t.dense()) for i, t in enumerate(tracks)]
    by_frame = {}
    for track, pid, frame_ids, boxes, _ in dense:
        folder = tracklet_dir(split_dir, pid, camid, f"{prefix}{track.track_id:04d}")
        os.makedirs(folder, exist_ok=True)
        for f, box in zip(frame_ids, boxes):
            by_frame.setdefault(int(f), []).append((folder, box))
    last, points = max(by_frame, default=-1), {}
    for index, frame in frames:
        for folder, box in by_frame.get(index, ()):
            path = osp.join(folder, f"{index:06d}.jpg")
            if not cv2.imwrite(path, crop(frame, box, size)):
                raise IOError(f"cannot write crop '{path}'")
            if keypoints is not None:
                points[path] = keypoints(frame, box)
            if progress is not None:
                progress()
        if index >= last:
            break
    csv_path = f"{split_dir.rstrip('/')}-{prefix}tracks.csv"
    with open(csv_path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(TRACKS_CSV_FIELDS + (KEYPOINT_FIELDS if keypoints is not None else ()))
        for track, pid, frame_ids, boxes, detected in dense:
            name = f"{prefix}{track.track_id:04d}"
            folder = tracklet_dir(split_dir, pid, camid, name)
            for fr, box, det in zip(frame_ids, boxes, detected):
                row = [name, pid, camid, int(fr), *(f"{v:.1f}" for v in box), int(det)]
                if keypoints is not None:
                    row += [f"{v:.2f}" for v in points[osp.join(folder, f"{int(fr):06d}.jpg")].reshape(-1)]
                writer.writerow(row)
    return csv_path


def read_crop_keypoints(split_dir):
    """{crop path relative to split_dir: key-points [17, 3]} from every tracks CSV of the split
    (`<split_dir>-*tracks.csv`) that holds key-points."""
    out = {}
    for csv_path in sorted(glob.glob(f"{glob.escape(split_dir.rstrip('/'))}-*tracks.csv")):
        with open(csv_path, newline="") as f:
            for row in csv.DictReader(f):
                if KEYPOINT_FIELDS[0] not in row:
                    break
                rel = osp.join(row["pid"], row["camid"], row["tracklet"], f"{int(row['frame']):06d}.jpg")
                out[rel] = np.array([float(row[k]) for k in KEYPOINT_FIELDS], np.float32).reshape(17, 3)
    return out
