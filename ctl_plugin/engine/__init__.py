from .launch import launch
from .trainer import VideoTrainer
