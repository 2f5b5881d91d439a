"""Reading a video file with OpenCV: its frames in order, and its size."""
import cv2


def open_video(path):
    capture = cv2.VideoCapture(path)
    if not capture.isOpened():
        raise FileNotFoundError(f"cannot open video '{path}' (missing, or a format OpenCV cannot read)")
    return capture


def read_frames(path, max_frames=0):
    """(index, BGR frame) of a video, in order; `max_frames` > 0 stops after that many."""
    capture = open_video(path)
    index = 0
    try:
        while not max_frames or index < max_frames:
            ok, frame = capture.read()
            if not ok:
                break
            yield index, frame
            index += 1
    finally:
        capture.release()


def video_info(path):
    """(number of frames, width, height) as the container states them."""
    capture = open_video(path)
    info = (int(capture.get(cv2.CAP_PROP_FRAME_COUNT)), int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    capture.release()
    return info
