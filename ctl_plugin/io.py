"""Reading frames, hashing files and locking folders: the leaf that data, key-points,
retrieval and the trainer share."""
import fcntl
import hashlib
import os

import cv2
import numpy as np

JPEG_SUFFIXES = (".jpg", ".jpeg")
IMAGE_SUFFIXES = (*JPEG_SUFFIXES, ".png", ".bmp")  # frame files, any case
JPEG_END = b"\xff\xd9"


def read_frame(path):
    """RGB uint8 [h, w, 3]; an unreadable or truncated frame is an error naming the file
    (libjpeg decodes a truncated JPEG without an error, grey below the cut)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise IOError(f"cannot read frame '{path}' ({e.strerror})") from e
    if path.lower().endswith(JPEG_SUFFIXES) and not data.rstrip(b"\0").endswith(JPEG_END):
        raise IOError(f"frame '{path}' is a truncated JPEG: it does not end with the end-of-image "
                      f"marker FF D9 ({len(data)} bytes)")
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise IOError(f"cannot read frame '{path}' (not an image OpenCV can decode)")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def file_sha256(path, chunk=1 << 20):
    """SHA-256 of a file, e.g. weights recorded in a cache's sidecar ('' for no file)."""
    if not path:
        return ""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


class FolderLockedError(RuntimeError):
    """Another live process holds the lock."""


_HELD = set()  # the locks this process holds


def _drop_inherited_locks():
    """In a forked child (a loader or extraction worker): close the inherited lock files
    without unlocking them, so the lock lives exactly as long as its holder. A worker that
    outlives a killed parent by a few seconds would otherwise keep the folder locked."""
    for lock in list(_HELD):
        os.close(lock._fd)
        lock._fd = None
    _HELD.clear()


os.register_at_fork(after_in_child=_drop_inherited_locks)


class ProcessLock:
    """An `flock` on `path` held by this process until `release` or its end, however it
    ends (the kernel drops it), so a crashed or killed process never leaves it stuck; its
    forked children do not hold it. Exclusive, or `shared` with other shared holders;
    `what` names the holder in errors."""

    def __init__(self, path, what, shared=False):
        self.path, self.what, self.shared = path, what, shared
        self._fd = None

    def acquire(self):
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise FolderLockedError(f"'{os.path.dirname(self.path)}' is in use by another {self.what} "
                                    f"(pid {holder}); wait for it to end") from None
        if not self.shared:
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        _HELD.add(self)
        return self

    def release(self):
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
            _HELD.discard(self)
