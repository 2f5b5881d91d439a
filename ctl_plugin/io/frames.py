"""Reading a frame file: RGB uint8, with errors that name the file."""
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
