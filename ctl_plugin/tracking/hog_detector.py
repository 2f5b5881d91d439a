"""People detection with OpenCV's built-in HOG + linear SVM detector (Dalal & Triggs,
CVPR 2005): no weights to download. Its window is 64 x 128 pixels, so people
shorter than about 128 pixels are found only after `upscale`.

The detector returns its search window, margins included: Dalal & Triggs trained it on
64 x 128 windows with about 16 pixels of background around a 96-pixel-tall person. Each
window is fitted to the person inside it by cutting the margins PERSON_MARGINS, measured on
the hand-checked person boxes of vtest.avi (tests/fixtures/vtest_person_boxes.json, the
even-numbered half of its frames; `python bench/person_boxes.py` measures them again).
"""
import cv2
import numpy as np

# The person inside a detection window: the share of the window's width (left, right) and
# height (top, bottom) that is background on each side; medians over 41 detections.
PERSON_MARGINS = (0.23, 0.13, 0.20, 0.12)  # left, top, right, bottom


def fit_person_boxes(windows, margins=PERSON_MARGINS):
    """Detection windows [n, 4] (x1 y1 x2 y2) -> the person boxes inside them."""
    windows = np.asarray(windows, np.float32).reshape(-1, 4)
    size = np.tile(windows[:, 2:] - windows[:, :2], 2)
    left, top, right, bottom = margins
    return windows + size * np.array([left, top, -right, -bottom], np.float32)


class HogPeopleDetector:
    """frame (BGR uint8 [H, W, 3]) -> (boxes [n, 4] float32 x1 y1 x2 y2 in frame pixels, scores [n]).

    win_stride: window step in pixels; scale: pyramid factor between levels;
    min_score: SVM margin below which a window is dropped; nms_iou: overlapping
    windows above this IoU keep only the best-scored one; max_height: windows taller
    than this fraction of the frame are dropped (groups and background structure);
    person_margins: the margins `fit_person_boxes` cuts from each window (None: the
    windows themselves).
    """

    def __init__(self, win_stride=4, scale=1.05, min_score=0.3, nms_iou=0.4, upscale=1.0, max_height=0.5,
                 person_margins=PERSON_MARGINS):
        if win_stride <= 0 or scale <= 1.0 or upscale <= 0:
            raise ValueError(f"HOG detector: need win_stride > 0, scale > 1 and upscale > 0; got "
                             f"win_stride={win_stride}, scale={scale}, upscale={upscale}")
        self.hog = cv2.HOGDescriptor()
        self.hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        self.win_stride = (int(win_stride), int(win_stride))
        self.scale = float(scale)
        self.min_score = float(min_score)
        self.nms_iou = float(nms_iou)
        self.upscale = float(upscale)
        self.max_height = float(max_height)
        self.person_margins = person_margins

    def __call__(self, frame):
        height, width = frame.shape[:2]
        image = frame if self.upscale == 1.0 else cv2.resize(
            frame, (round(width * self.upscale), round(height * self.upscale)), interpolation=cv2.INTER_LINEAR)
        rects, weights = self.hog.detectMultiScale(image, winStride=self.win_stride, padding=(8, 8),
                                                   scale=self.scale)
        if len(rects) == 0:
            return np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
        rects = np.asarray(rects, np.float32) / self.upscale
        scores = np.asarray(weights, np.float32).reshape(-1)
        small = rects[:, 3] <= self.max_height * height
        rects, scores = rects[small], scores[small]
        keep = cv2.dnn.NMSBoxes(rects.tolist(), scores.tolist(), self.min_score, self.nms_iou)
        keep = np.asarray(keep, np.int64).reshape(-1)
        boxes = rects[keep].copy()
        boxes[:, 2:] += boxes[:, :2]  # x y w h -> x1 y1 x2 y2
        if self.person_margins is not None:
            boxes = fit_person_boxes(boxes, self.person_margins)
        boxes[:, 0::2] = boxes[:, 0::2].clip(0, width)
        boxes[:, 1::2] = boxes[:, 1::2].clip(0, height)
        return boxes, scores[keep]
