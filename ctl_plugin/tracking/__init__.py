"""From surveillance video to re-ID tracklets: people detection, IoU linking, crops."""
from .hog_detector import HogPeopleDetector
from .iou_tracker import IouTracker, Track, box_iou
from .tracklet_writer import write_tracklets

__all__ = ["HogPeopleDetector", "IouTracker", "Track", "box_iou", "write_tracklets"]
