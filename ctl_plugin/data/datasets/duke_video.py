"""DukeMTMC-VideoReID (Wu et al., CVPR 2018): one folder per tracklet.

Protocol: the `query` folder holds the queries and the `gallery` folder the
gallery, as shipped. The camera of a tracklet is the `C<cam>` of its frame
names, minus 1; frames are ordered by their `F<frame>` number.

Three `FrameList`s, "train", "query" and "gallery", one per folder, so each
folder has its own key-point cache.
"""
import os.path as osp
import re

from fastreid.data.datasets import DATASET_REGISTRY

from .bases import DatasetLayoutError, VideoDataset, index_folders, make_items, require_paths, subfolders

DUKE_VIDEO_LAYOUT = """\
<root>/dukemtmc-vidreid/DukeMTMC-VideoReID/
    train/<pid4>/<tracklet4>/<pid4>_C<cam>_F<frame4>_X<n>.jpg
    query/<pid4>/<tracklet4>/...
    gallery/<pid4>/<tracklet4>/..."""

SUBSETS = ("train", "query", "gallery")
FRAME_NAME = re.compile(r"(\d+)_C(\d+)_F(\d+)_X\d+\.jpg")


def parse_frame_name(path):
    """(pid, camera 1-based, frame number) from `<pid4>_C<cam>_F<frame4>_X<n>.jpg`."""
    m = FRAME_NAME.fullmatch(osp.basename(path))
    if m is None:
        raise DatasetLayoutError(f"'{path}': expected a frame named <pid4>_C<cam>_F<frame4>_X<n>.jpg")
    return tuple(int(g) for g in m.groups())


@DATASET_REGISTRY.register()
class DukeMTMCVidReID(VideoDataset):
    """DukeMTMC-VideoReID: 702 training ids (2,196 tracklets), 702 queries, 2,636 gallery tracklets."""
    dataset_dir = "dukemtmc-vidreid"
    dataset_name = "DukeMTMCVidReID"

    def __init__(self, root="datasets", split_id=0, **kwargs):
        self.root = root
        self.dataset_dir = osp.join(root, self.dataset_dir)
        data_dir = osp.join(self.dataset_dir, "DukeMTMC-VideoReID")
        require_paths([self.dataset_dir, data_dir, *(osp.join(data_dir, s) for s in SUBSETS)],
                      DUKE_VIDEO_LAYOUT)
        frame_lists, items, skipped = {}, {}, {}
        for subset in SUBSETS:
            frames, entries, paths = self._index(osp.join(data_dir, subset), subset)
            frame_lists[subset] = frames
            prefix = self.dataset_name if subset == "train" else None
            items[subset], skipped[subset] = make_items(entries, prefix,
                                                        query_paths=paths if subset == "query" else None)
        super().__init__(items["train"], items["query"], items["gallery"], frame_lists=frame_lists,
                         num_skipped=skipped, **kwargs)

    @staticmethod
    def _index(folder, name):
        """The FrameList of one subset folder, its (span, pid, camid) entries and their folders."""
        pids = subfolders(folder)
        bad = [p for p in pids if not p.isdigit()]
        if bad:
            raise DatasetLayoutError(
                f"'{osp.join(folder, bad[0])}': expected identity folders named by a number "
                f"(<pid4>). Expected layout:\n{DUKE_VIDEO_LAYOUT}")
        tracklets = [f"{p}/{t}" for p in pids for t in subfolders(osp.join(folder, p))]
        frames, spans = index_folders(name, folder, tracklets, ".jpg",
                                      sort_key=lambda path: parse_frame_name(path)[2])
        entries = []
        for tracklet, span in zip(tracklets, spans):
            pid, camid = int(tracklet.split("/")[0]), None
            if span is not None:
                found = sorted({parse_frame_name(p)[:2] for p in span.paths()})
                if len(found) != 1 or found[0][0] != pid:
                    raise DatasetLayoutError(
                        f"'{osp.join(folder, tracklet)}': frames name (pid, camera) {found}; "
                        f"expected one camera and pid {pid}")
                camid = found[0][1] - 1
            entries.append((span, pid, camid))
        return frames, entries, [osp.join(folder, t) for t in tracklets]
