"""`VideoFolder`: any video re-ID data laid out as one folder per tracklet.

Each split folder is optional; a missing one is an empty split. Frames are the
image files (`ctl_plugin.io.IMAGE_SUFFIXES`) of a tracklet folder, ordered by name.
Empty tracklet folders are skipped and counted, as every dataset does; non-integer
pid/camid folder names and files where folders belong are errors naming the path.
"""
import os
import os.path as osp
import re

from ctl_plugin.io import IMAGE_SUFFIXES

from fastreid.data.datasets import DATASET_REGISTRY

from .bases import DatasetLayoutError, VideoDataset, index_folders, make_items, require_paths

VIDEO_FOLDER_LAYOUT = """\
<root>/video-folder/
    train/<pid>/<camid>/<tracklet>/*.jpg      (each split folder optional; frames
    query/<pid>/<camid>/<tracklet>/*.jpg       .jpg, .jpeg, .png or .bmp)
    gallery/<pid>/<camid>/<tracklet>/*.jpg"""
SUBSETS = ("train", "query", "gallery")


def folders_only(path, what):
    """Sorted sub-folder names of `path`; any file there is an error."""
    names = sorted(os.listdir(path))
    for name in names:
        if not osp.isdir(osp.join(path, name)):
            raise DatasetLayoutError(f"'{osp.join(path, name)}': expected a {what} folder, found a file. "
                                     f"Expected layout:\n{VIDEO_FOLDER_LAYOUT}")
    return names


def integer_name(path, what):
    """The integer a folder is named by: ASCII digits, an optional leading minus and nothing
    else (`int` would also read "3_1" as 31 and " 1" as 1)."""
    name = osp.basename(path)
    if not re.fullmatch(r"-?[0-9]+", name):
        raise DatasetLayoutError(f"'{path}': expected a {what} folder named by an integer. "
                                 f"Expected layout:\n{VIDEO_FOLDER_LAYOUT}")
    return int(name)


@DATASET_REGISTRY.register()
class VideoFolder(VideoDataset):
    """Tracklets from `<root>/video-folder/{train,query,gallery}/<pid>/<camid>/<tracklet>/`."""
    dataset_dir = "video-folder"
    dataset_name = "VideoFolder"

    def __init__(self, root="datasets", split_id=0, **kwargs):
        self.root = root
        self.dataset_dir = osp.join(root, self.dataset_dir)
        require_paths([self.dataset_dir], VIDEO_FOLDER_LAYOUT)
        frame_lists, items, skipped = {}, {}, {}
        for subset in SUBSETS:
            folder = osp.join(self.dataset_dir, subset)
            frames, entries, paths = self._index(folder, subset) if osp.isdir(folder) else (None, [], [])
            if frames is not None:
                frame_lists[subset] = frames
            items[subset], skipped[subset] = make_items(entries, self.dataset_name if subset == "train" else None,
                                                        query_paths=paths if subset == "query" else None)
        super().__init__(items["train"], items["query"], items["gallery"], frame_lists=frame_lists,
                         num_skipped=skipped, **kwargs)

    @staticmethod
    def _index(folder, name):
        """The FrameList of one split folder, its (span, pid, camid) entries and their folders."""
        tracklets, labels = [], []
        for p in folders_only(folder, "<pid>"):
            pid = integer_name(osp.join(folder, p), "<pid>")
            for c in folders_only(osp.join(folder, p), "<camid>"):
                camid = integer_name(osp.join(folder, p, c), "<camid>")
                for t in folders_only(osp.join(folder, p, c), "<tracklet>"):
                    tracklets.append(f"{p}/{c}/{t}")
                    labels.append((pid, camid))
        frames, spans = index_folders(name, folder, tracklets, IMAGE_SUFFIXES)
        return (frames, [(span, pid, camid) for span, (pid, camid) in zip(spans, labels)],
                [osp.join(folder, t) for t in tracklets])
