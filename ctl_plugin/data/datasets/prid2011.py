"""PRID2011 (Hirzer et al., SCIA 2011), multi-shot sequences, torchreid's layout.

Protocol: split `split_id` of `splits_prid2011.json` names the train and test
persons; test queries are the cam_a sequences (camid 0), the gallery the cam_b
ones (camid 1); results are averaged over the splits.

One `FrameList`, "multi_shot", holds the frames of every person named by any
split (cam_a persons sorted, then cam_b; frames sorted by name), so one
key-point cache serves all splits.
"""
import json
import os.path as osp
import re

from fastreid.data.datasets import DATASET_REGISTRY

from .bases import DatasetLayoutError, VideoDataset, index_folders, make_items, require_paths

PRID2011_LAYOUT = """\
<root>/prid2011/
    prid_2011/multi_shot/cam_a/person_NNNN/NNNN.png
    prid_2011/multi_shot/cam_b/person_NNNN/NNNN.png
    splits_prid2011.json   [{"train": ["person_0001", ...], "test": [...]}, ...]"""

CAMERAS = ("cam_a", "cam_b")


def read_splits(path):
    """The list of {"train": [...], "test": [...]} person-folder splits, checked."""
    try:
        with open(path, encoding="utf-8") as f:
            splits = json.load(f)
    except json.JSONDecodeError as e:
        raise DatasetLayoutError(f"'{path}': not valid JSON ({e})") from e
    if not isinstance(splits, list) or not splits:
        raise DatasetLayoutError(f"'{path}': expected a non-empty list of splits")
    for i, split in enumerate(splits):
        ok = isinstance(split, dict) and all(
            isinstance(split.get(k), list) and all(isinstance(p, str) for p in split[k])
            for k in ("train", "test"))
        if not ok:
            raise DatasetLayoutError(
                f"'{path}': split {i} must be {{\"train\": [person folders], \"test\": [...]}}")
        bad = [p for p in split["train"] + split["test"] if not re.fullmatch(r"person_\d+", p)]
        if bad:
            raise DatasetLayoutError(
                f"'{path}': split {i} names '{bad[0]}'; expected person folders person_NNNN")
        both = sorted(set(split["train"]) & set(split["test"]))
        if both:
            raise DatasetLayoutError(f"'{path}': split {i} puts '{both[0]}' in both train and test")
    return splits


@DATASET_REGISTRY.register()
class PRID2011(VideoDataset):
    """PRID2011: 178 persons seen by both cameras, 10 splits of 89 train / 89 test."""
    dataset_dir = "prid2011"
    dataset_name = "PRID2011"

    def __init__(self, root="datasets", split_id=0, **kwargs):
        self.root = root
        self.dataset_dir = osp.join(root, self.dataset_dir)
        shot = osp.join(self.dataset_dir, "prid_2011", "multi_shot")
        split_path = osp.join(self.dataset_dir, "splits_prid2011.json")
        require_paths([self.dataset_dir, shot, *(osp.join(shot, c) for c in CAMERAS), split_path],
                      PRID2011_LAYOUT)
        splits = read_splits(split_path)
        if not 0 <= split_id < len(splits):
            raise DatasetLayoutError(
                f"split_id (VIDEO.SPLIT) is {split_id}, but '{split_path}' holds "
                f"{len(splits)} splits (0..{len(splits) - 1})")
        persons = sorted({p for s in splits for p in s["train"] + s["test"]})
        folders = [f"{c}/{p}" for c in CAMERAS for p in persons]
        require_paths([osp.join(shot, f) for f in folders],
                      f"every person of '{split_path}' in both cameras:\n{PRID2011_LAYOUT}")
        frames, spans = index_folders("multi_shot", shot, folders, ".png")
        span = dict(zip(folders, spans))

        def entries(subset_persons, cams):
            return [(span[f"{c}/{p}"], int(p[len("person_"):]), CAMERAS.index(c))
                    for p in sorted(subset_persons) for c in cams]

        split = splits[split_id]
        train, skip_train = make_items(entries(split["train"], CAMERAS), self.dataset_name)
        query, skip_query = make_items(entries(split["test"], CAMERAS[:1]),
                                       query_paths=[osp.join(shot, CAMERAS[0], p) for p in sorted(split["test"])])
        gallery, skip_gallery = make_items(entries(split["test"], CAMERAS[1:]))
        super().__init__(train, query, gallery, frame_lists={frames.name: frames},
                         num_skipped={"train": skip_train, "query": skip_query,
                                      "gallery": skip_gallery}, **kwargs)
