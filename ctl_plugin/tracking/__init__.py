"""From surveillance video to re-ID tracklets: people detection, linking (DeepSORT on the
plugin's re-ID embeddings, or IoU alone), crops."""
from .deepsort_tracker import DeepSortTracker
from .embedder import ReidEmbedder, build_reid_embedder
from .hog_detector import HogPeopleDetector
from .iou_tracker import IouTracker
from .mot_scores import METRICS, mot_scores, read_mot, tracks_as_mot
from .track import Track
from .tracklet_writer import write_tracklets

__all__ = ["METRICS", "DeepSortTracker", "HogPeopleDetector", "IouTracker", "ReidEmbedder", "Track",
           "build_reid_embedder", "mot_scores", "read_mot", "tracks_as_mot", "write_tracklets"]
