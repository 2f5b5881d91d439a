"""Reading frames and hashing files: the leaf that data, key-points and retrieval share."""
import hashlib

import cv2


def read_frame(path):
    """RGB uint8 [h, w, 3]; an unreadable frame is an error naming the file."""
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise IOError(f"cannot read frame '{path}'")
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
