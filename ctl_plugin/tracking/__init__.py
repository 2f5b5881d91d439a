"""From surveillance video to re-ID tracklets: people detection, linking (DeepSORT on the
plugin's re-ID embeddings, or IoU alone), crops."""
from .deepsort_tracker import DeepSortTracker
from .embedder import ReidEmbedder, build_reid_embedder
from .hog_detector import HogPeopleDetector
from .iou_tracker import IouTracker
from .mot_scores import METRICS, mot_scores, read_mot, tracks_as_mot
from .track import Track
from .tracklet_writer import next_pid, remove_tracklets, video_tracklets, write_tracklets
from .video import read_frames, video_info

__all__ = ["METRICS", "DeepSortTracker", "HogPeopleDetector", "IouTracker", "ReidEmbedder", "Track",
           "build_reid_embedder", "mot_scores", "next_pid", "read_frames", "read_mot", "remove_tracklets",
           "tracks_as_mot", "video_info", "video_tracklets", "write_tracklets"]
