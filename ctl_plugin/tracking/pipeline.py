"""The tracker's loop over a video: on every `frame_step`-th frame, detect, embed the boxes
(DeepSORT) and link; each stage can be timed (`StageClock`, bench/tracker_stages.py)."""
import time
from collections import defaultdict
from contextlib import contextmanager, nullcontext


class StageClock:
    """Wall seconds spent in each named stage: `with clock("detect"): ...`."""

    def __init__(self):
        self.seconds = defaultdict(float)

    @contextmanager
    def __call__(self, stage):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] += time.perf_counter() - start


def untimed(stage):
    return nullcontext()


def track_frames(frames, detector, linker, embed=None, frame_step=1, clock=untimed, progress=None):
    """The linker's tracklets over `frames` ((index, BGR frame) in order).

    detector: frame -> (boxes [n, 4], scores [n]); embed: (frame, boxes) -> [n, D], or None
    for a linker without appearance (`IouTracker`); progress: called once per frame.
    Stages timed by `clock`: read (decoding), detect, embed, link.
    """
    frames = iter(frames)
    while True:
        with clock("read"):
            item = next(frames, None)
        if item is None:
            break
        index, frame = item
        if index % frame_step == 0:
            with clock("detect"):
                boxes, scores = detector(frame)
            if embed is None:
                with clock("link"):
                    linker.update(index, boxes, scores)
            else:
                with clock("embed"):
                    embeddings = embed(frame, boxes)
                with clock("link"):
                    linker.update(index, boxes, scores, embeddings)
        if progress is not None:
            progress()
    return linker.finish()
