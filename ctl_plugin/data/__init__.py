# importing `datasets` registers every video dataset into fast-reid's DATASET_REGISTRY
from . import datasets
from .build import (
    build_tracklet_loader,
    build_video_test_loader,
    build_video_train_loader,
    data_root,
    keypoint_cache_dir,
    load_dataset,
    open_keypoint_caches,
)
