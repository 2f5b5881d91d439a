"""iLIDS-VID (Wang et al., ECCV 2014): 2 cameras, one sequence per person and camera.

Protocol: row `split_id` of `ls_set` is a permutation of the person folders
(1-based into the sorted `cam1` folders). Its first half is the TEST set and
its second half the TRAIN set, as in Wang et al. ECCV'14 and torchreid. Test
queries are the cam1 sequences (camid 0), the gallery the cam2 ones (camid 1);
results are averaged over the splits.

One `FrameList`, "sequences", holds every frame (cam1 persons sorted, then cam2
persons sorted; frames sorted by name), so one key-point cache serves all splits.
"""
import os.path as osp
import re

import numpy as np
from fastreid.data.datasets import DATASET_REGISTRY

from .bases import (
    DatasetLayoutError,
    VideoDataset,
    index_folders,
    make_items,
    require_paths,
    subfolders,
)
from .mat_files import load_mat_array

ILIDSVID_LAYOUT = """\
<root>/ilids-vid/
    i-LIDS-VID/sequences/cam1/personNNN/cam1_personNNN_FFFFF.png
    i-LIDS-VID/sequences/cam2/personNNN/cam2_personNNN_FFFFF.png
    train-test people splits/train_test_splits_ilidsvid.mat
        ls_set (splits, persons): each row a permutation of 1-based indices into
        the sorted cam1 person folders; first half test, second half train"""

CAMERAS = ("cam1", "cam2")


@DATASET_REGISTRY.register()
class iLIDSVID(VideoDataset):
    """iLIDS-VID: 300 persons, 10 splits of 150 train / 150 test persons."""
    dataset_dir = "ilids-vid"
    dataset_name = "iLIDSVID"

    def __init__(self, root="datasets", split_id=0, **kwargs):
        self.root = root
        self.dataset_dir = osp.join(root, self.dataset_dir)
        seq = osp.join(self.dataset_dir, "i-LIDS-VID", "sequences")
        split_path = osp.join(self.dataset_dir, "train-test people splits",
                              "train_test_splits_ilidsvid.mat")
        require_paths([self.dataset_dir, seq, *(osp.join(seq, c) for c in CAMERAS), split_path],
                      ILIDSVID_LAYOUT)
        persons = self._persons(seq)
        test, train = self._split(split_path, split_id, persons)

        folders = [f"{cam}/{p}" for cam in CAMERAS for p in persons]
        frames, spans = index_folders("sequences", seq, folders, ".png")
        span = dict(zip(folders, spans))
        pid = {p: int(p[len("person"):]) for p in persons}

        def entries(subset_persons, cams):
            return [(span[f"{c}/{p}"], pid[p], CAMERAS.index(c)) for p in subset_persons for c in cams]

        train_items, skip_train = make_items(entries(train, CAMERAS), self.dataset_name)
        query, skip_query = make_items(entries(test, CAMERAS[:1]),
                                       query_paths=[osp.join(seq, CAMERAS[0], p) for p in test])
        gallery, skip_gallery = make_items(entries(test, CAMERAS[1:]))
        super().__init__(train_items, query, gallery, frame_lists={frames.name: frames},
                         num_skipped={"train": skip_train, "query": skip_query,
                                      "gallery": skip_gallery}, **kwargs)

    @staticmethod
    def _persons(seq):
        """Sorted person folders of cam1; cam2 must hold the same ones."""
        persons = {c: subfolders(osp.join(seq, c)) for c in CAMERAS}
        for c in CAMERAS:
            bad = [p for p in persons[c] if not re.fullmatch(r"person\d+", p)]
            if bad:
                raise DatasetLayoutError(
                    f"'{osp.join(seq, c, bad[0])}': expected person folders named personNNN")
        for a, b in (CAMERAS, CAMERAS[::-1]):
            missing = sorted(set(persons[a]) - set(persons[b]))
            if missing:
                raise DatasetLayoutError(
                    f"'{osp.join(seq, b, missing[0])}' is not found, but "
                    f"'{osp.join(seq, a, missing[0])}' is: every person needs a sequence in "
                    f"both cameras. Expected layout:\n{ILIDSVID_LAYOUT}")
        return persons["cam1"]

    @staticmethod
    def _split(path, split_id, persons):
        """(test persons, train persons) of row `split_id` of `ls_set`, sorted."""
        ls_set = load_mat_array(path, "ls_set", ndim=2, kind="iuf")
        n = len(persons)
        if ls_set.shape[1] != n:
            raise DatasetLayoutError(
                f"'{path}': field 'ls_set' has shape {ls_set.shape}; expected {n} columns, "
                f"one per person folder of cam1")
        if not 0 <= split_id < ls_set.shape[0]:
            raise DatasetLayoutError(
                f"split_id (VIDEO.SPLIT) is {split_id}, but '{path}' field 'ls_set' holds "
                f"{ls_set.shape[0]} splits (0..{ls_set.shape[0] - 1})")
        row = ls_set[split_id]
        if not np.array_equal(np.sort(row), np.arange(1, n + 1)):
            raise DatasetLayoutError(
                f"'{path}': row {split_id + 1} of field 'ls_set' is not a permutation of 1..{n}")
        half = n // 2
        return sorted(persons[i - 1] for i in row[:half]), sorted(persons[i - 1] for i in row[half:])
