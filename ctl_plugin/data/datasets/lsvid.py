"""LS-VID (Li et al., ICCV 2019), read from its official release.

The release lists each tracklet as a path prefix of its frames and a pid
(`list_sequence/list_seq_{train,test}.txt`); a tracklet's frames are the image files
(`ctl_plugin.io.IMAGE_SUFFIXES`: .jpg, .jpeg, .png, .bmp, in any case) of the prefix's
folder whose names start with the prefix, in name order; other files are ignored.
A list line whose prefix names no frame is an error naming the list and the line, as in
the published loaders. Each folder is listed once and no image is opened. The camera of a frame is the
third `_`-separated field of its name (1-15), 0-based after loading.

Protocol: query = the lines of `list_seq_test.txt` named by `query` in
`test/data/info_test.mat` (1-based, in that order); gallery = every other test
tracklet, in list order, **the queries not included**, as the published loaders
build it. Same-id same-camera gallery tracklets are junk (fast-reid's evaluator
drops them). The validation split (`list_seq_val.txt`, `tracklet_val/`,
`test/data/info_val.mat`) is not read.

Two `FrameList`s, "tracklet_train" and "tracklet_test" (query and gallery share
it), each in list order.
"""
import os
import os.path as osp

from ctl_plugin.io import IMAGE_SUFFIXES

from fastreid.data.datasets import DATASET_REGISTRY

from .bases import (
    DatasetLayoutError,
    VideoDataset,
    index_prefixes,
    make_items,
    read_lines,
    require_paths,
)
from .mat_files import check_query_rows, load_hdf5_mat_array

LSVID_LAYOUT = """\
<root>/LS-VID/
    list_sequence/list_seq_train.txt    one tracklet a line: <frame path prefix> <pid>
    list_sequence/list_seq_test.txt       e.g. tracklet_test/0017/<tracklet> 17
    tracklet_train/<pid4>/<tracklet>_<frame>_<camera>_<n>.jpg
    tracklet_test/<pid4>/...
    test/data/info_test.mat             MATLAB v7.3 (HDF5), field query: 1-based rows
                                        of list_seq_test.txt"""

SPLITS = ("train", "test")


def read_sequence_list(path):
    """[(line number, frame path prefix, pid)] of a `list_seq_*.txt`, checked."""
    entries = []
    for number, line in enumerate(read_lines(path), 1):
        fields = line.split()
        prefix = fields[0] if len(fields) == 2 else ""
        folder, name = osp.split(prefix)
        if not folder or not name or osp.isabs(prefix):
            raise DatasetLayoutError(
                f"'{path}' line {number}: {line!r}; expected '<frame path prefix> <pid>', "
                f"the prefix relative to the dataset folder, e.g. 'tracklet_test/0017/<tracklet> 17'")
        try:
            pid = int(fields[1])
        except ValueError:
            raise DatasetLayoutError(
                f"'{path}' line {number}: {line!r}; the pid '{fields[1]}' is not an integer") from None
        entries.append((number, prefix, pid))
    return entries


def frame_camera(root, relpath):
    """The camera (1-based) of the frame `root/relpath`, named `<tracklet>_<frame>_<camera>_<n>.<image suffix>`."""
    fields = relpath.rsplit("/", 1)[-1].split("_")
    if len(fields) < 3 or not fields[2].isdigit() or int(fields[2]) < 1:
        raise DatasetLayoutError(
            f"'{osp.join(root, relpath)}': expected a frame named <tracklet>_<frame>_<camera>_<n>.jpg "
            f"(the camera, 1-15, is the third '_'-separated field)")
    return int(fields[2])


def tracklet_camera(root, relpaths, where):
    """The one camera (1-based) the frames `relpaths` (one folder) name; `where` names
    the list line in errors."""
    start = relpaths[0].rfind("/") + 1
    try:
        fields = {p[start:].split("_", 3)[2] for p in relpaths}
    except IndexError:  # a name with fewer than three fields
        fields = ()
    if len(fields) == 1:
        return frame_camera(root, relpaths[0])
    cameras = sorted({frame_camera(root, p) for p in relpaths})
    if len(cameras) != 1:
        raise DatasetLayoutError(f"{where} name cameras {cameras}; expected one")
    return cameras[0]


def write_sequence_list(dataset_dir, split, records, frame_names):
    """Write `list_sequence/list_seq_<split>.txt` for tracklet records (pid, camera,
    num_frames) in list order and create their `tracklet_<split>/<pid4>/` folders;
    `frame_names(tracklet id, camera, num_frames)` names a tracklet's frames, which are
    left to the caller. Returns [(prefix, pid, camera, frame names)] in list order."""
    tracklets, counters = [], {}
    for pid, cam, n in records:
        t = counters[pid] = counters.get(pid, 0) + 1
        trackid = f"{pid:04d}{t:04d}"
        folder = f"tracklet_{split}/{pid:04d}"
        os.makedirs(osp.join(dataset_dir, folder), exist_ok=True)
        tracklets.append((f"{folder}/{trackid}", pid, cam, frame_names(trackid, cam, n)))
    lists = osp.join(dataset_dir, "list_sequence")
    os.makedirs(lists, exist_ok=True)
    with open(osp.join(lists, f"list_seq_{split}.txt"), "w") as f:
        f.writelines(f"{prefix} {pid}\n" for prefix, pid, _, _ in tracklets)
    return tracklets


@DATASET_REGISTRY.register()
class LSVID(VideoDataset):
    """LS-VID: 842 training ids (2,831 tracklets), 3,504 queries, 7,829 gallery tracklets."""
    dataset_dir = "LS-VID"
    dataset_name = "LSVID"

    def __init__(self, root="datasets", split_id=0, **kwargs):
        self.root = root
        self.dataset_dir = osp.join(root, self.dataset_dir)
        d = self.dataset_dir
        lists = {s: osp.join(d, "list_sequence", f"list_seq_{s}.txt") for s in SPLITS}
        query_path = osp.join(d, "test", "data", "info_test.mat")
        require_paths([d, *lists.values(), *(osp.join(d, f"tracklet_{s}") for s in SPLITS),
                       query_path], LSVID_LAYOUT)

        lines = {s: read_sequence_list(lists[s]) for s in SPLITS}
        rows = check_query_rows(load_hdf5_mat_array(query_path, "query", ndim=2, kind="iuf"),
                                query_path, "query", lists["test"], len(lines["test"]))
        frame_lists, entries = {}, {}
        for split in SPLITS:
            frame_lists[split], entries[split] = self._index(d, split, lists[split], lines[split])
        test, is_query = entries["test"], set(rows.tolist())

        train, skip_train = make_items(entries["train"], self.dataset_name)
        query, skip_query = make_items(test[r] for r in rows)
        gallery, skip_gallery = make_items(e for r, e in enumerate(test) if r not in is_query)
        super().__init__(train, query, gallery,
                         frame_lists={f.name: f for f in frame_lists.values()},
                         num_skipped={"train": skip_train, "query": skip_query,
                                      "gallery": skip_gallery}, **kwargs)

    @staticmethod
    def _index(dataset_dir, split, list_path, lines):
        """The FrameList of one split and the (span, pid, 0-based camid) entries of its
        `read_sequence_list` lines."""
        frames, spans = index_prefixes(f"tracklet_{split}", dataset_dir,
                                       [prefix for _, prefix, _ in lines], IMAGE_SUFFIXES)
        entries = []
        for (number, prefix, pid), span in zip(lines, spans):
            where = f"'{list_path}' line {number}"
            if span is None:
                raise DatasetLayoutError(
                    f"{where}: no frame starts with '{prefix}' in '{osp.join(dataset_dir, osp.dirname(prefix))}'; "
                    f"expected its frames there as <tracklet>_<frame>_<camera>_<n> with one of "
                    f"{', '.join(IMAGE_SUFFIXES)}")
            camid = tracklet_camera(dataset_dir, frames.relpaths[span.start:span.stop],
                                    f"{where}: the frames of '{prefix}'") - 1
            entries.append((span, pid, camid))
        return frames, entries
