"""One live training per OUTPUT_DIR: `OutputDirLock` holds an exclusive `flock` on
OUTPUT_DIR/.train.lock for the life of the process. The kernel drops the lock when the
process ends, however it ends, so a crashed or killed run never leaves it stuck."""
import fcntl
import os


class OutputDirLockedError(RuntimeError):
    """Another live process is training into the same OUTPUT_DIR."""


class OutputDirLock:
    FILE = ".train.lock"

    def __init__(self, output_dir):
        self.path = os.path.join(output_dir, self.FILE)
        self._fd = None

    def acquire(self):
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise OutputDirLockedError(
                f"OUTPUT_DIR '{os.path.dirname(self.path)}' is in use by another training (pid {holder}); "
                f"its checkpoints would mix with this run's. Wait for it, or set another OUTPUT_DIR") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def release(self):
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
