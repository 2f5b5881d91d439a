"""The tracklet record: what a video dataset hands to fast-reid.

A dataset item is the tuple `(FrameSpan, pid, camid)`, so fast-reid's samplers,
`parse_data` and relabelling (which read `item[1]`, `item[2]`) work unchanged.
A `FrameSpan` is a slice `[start, stop)` of a `FrameList`: the ordered frame
paths of one dataset split (e.g. MARS `bbox_train`). The key-point cache of that
split is stored in the same order, so frame `i` of a span is row
`span.start + i` of the cache. Only paths are held, never pixels.
"""
import hashlib
import os
from dataclasses import dataclass
from typing import Sequence


class FrameList:
    """Ordered frame paths of one dataset split: `root/relpaths[i]`.

    name:     the split's name, which also names its key-point cache file.
    root:     folder the relative paths start from.
    relpaths: relative frame paths, in the order a key-point cache follows.
    """

    def __init__(self, name: str, root: str, relpaths: Sequence[str]):
        self.name = name
        self.root = root
        self.relpaths = relpaths
        self._digest = None

    def __len__(self):
        return len(self.relpaths)

    def path(self, index: int) -> str:
        return os.path.join(self.root, self.relpaths[index])

    def digest(self) -> str:
        """SHA-1 of the relative paths joined by newlines: identifies the frame order."""
        if self._digest is None:
            h = hashlib.sha1()
            h.update("\n".join(self.relpaths).encode("utf-8"))
            self._digest = h.hexdigest()
        return self._digest

    def __repr__(self):
        return f"FrameList({self.name!r}, {self.root!r}, {len(self)} frames)"


@dataclass(frozen=True, eq=False)
class FrameSpan:
    """Frames `[start, stop)` of `frames`: one tracklet, in temporal order."""
    frames: FrameList
    start: int
    stop: int

    def __len__(self):
        return self.stop - self.start

    def path(self, i: int) -> str:
        return self.frames.path(self.start + i)

    def paths(self):
        return [self.path(i) for i in range(len(self))]

    def __repr__(self):
        return f"FrameSpan({self.frames.name}[{self.start}:{self.stop}])"
