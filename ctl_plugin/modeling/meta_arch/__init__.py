from .video_baseline import VideoBaseline, pool_clips
from .ctl import CTL
