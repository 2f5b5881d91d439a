"""Folder locks held by a live process (the kernel drops them when the process ends)."""
import fcntl
import os


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
