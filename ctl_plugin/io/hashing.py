"""File hashes, for the sidecars that tie a cache to the weights it was made with."""
import hashlib


def file_sha256(path, chunk=1 << 20):
    """SHA-256 of a file, e.g. weights recorded in a cache's sidecar ('' for no file)."""
    if not path:
        return ""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()
