from .defaults import main, setup
from .launch import launch
from .trainer import VideoTrainer
