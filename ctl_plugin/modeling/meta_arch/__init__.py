from .ctl import CTL
from .video_baseline import VideoBaseline, pool_clips
