"""`VideoTrainer`: fast-reid's DefaultTrainer with the video loaders; nothing else changes."""
from fastreid.engine import DefaultTrainer

from ..data.build import build_video_test_loader, build_video_train_loader


class VideoTrainer(DefaultTrainer):
    @classmethod
    def build_train_loader(cls, cfg):
        return build_video_train_loader(cfg)

    @classmethod
    def build_test_loader(cls, cfg, dataset_name):
        return build_video_test_loader(cfg, dataset_name)
