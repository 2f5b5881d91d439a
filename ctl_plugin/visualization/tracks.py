"""A picture of tracklets: the frame where most are live, each with its box, id and path."""
import os
import os.path as osp

import cv2
import numpy as np


def busiest_frame(tracks):
    """(frame index where most tracklets are live, how many)."""
    spans = [t.dense()[0] for t in tracks]
    live = np.zeros(max((int(f[-1]) for f in spans), default=0) + 1, int)
    for frames in spans:
        live[frames] += 1
    target = int(np.argmax(live))
    return target, int(live[target])


def draw_tracks(frames, tracks, path):
    """Draw each live tracklet's box, id and path so far (bottom-centre of its boxes) on the
    busiest frame of `frames` (an iterable of (index, BGR frame)), and write it to `path`."""
    target, count = busiest_frame(tracks)
    frame = next(f for i, f in frames if i == target)
    for k, track in enumerate(tracks):
        ids, boxes, _ = track.dense()
        if not ids[0] <= target <= ids[-1]:
            continue
        colour = tuple(int(c) for c in cv2.applyColorMap(np.uint8([[37 * k % 255]]), cv2.COLORMAP_HSV)[0, 0])
        past = boxes[:target - ids[0] + 1]
        foot = np.stack([(past[:, 0] + past[:, 2]) / 2, past[:, 3]], 1).round().astype(np.int32)
        cv2.polylines(frame, [foot.reshape(-1, 1, 2)], False, colour, 2)
        x1, y1, x2, y2 = past[-1].round().astype(int)
        cv2.rectangle(frame, (x1, y1), (x2, y2), colour, 2)
        cv2.putText(frame, str(track.track_id), (x1, max(y1 - 4, 10)), cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 2)
    cv2.putText(frame, f"frame {target}: {count} of {len(tracks)} tracklets live",
                (8, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    if not cv2.imwrite(path, frame):
        raise IOError(f"cannot write preview '{path}'")
