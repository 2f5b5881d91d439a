from .defaults import build_test_model, main, setup
from .launch import launch
from .trainer import VideoTrainer
