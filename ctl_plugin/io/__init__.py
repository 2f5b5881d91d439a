"""Reading frames, hashing files and locking folders: the leaf that data, key-points,
retrieval and the trainer share."""
from .frames import IMAGE_SUFFIXES, JPEG_SUFFIXES, read_frame
from .hashing import file_sha256
from .locks import FolderLockedError, ProcessLock

__all__ = ["IMAGE_SUFFIXES", "JPEG_SUFFIXES", "FolderLockedError", "ProcessLock", "file_sha256", "read_frame"]
