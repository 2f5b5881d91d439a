import logging

from ctl_plugin.data.datasets.bases import make_items
from ctl_plugin.data.datasets.mars import MARS
from ctl_plugin.data.tracklets import FrameList, FrameSpan

import pytest


def test_make_items_drops_empty_and_prefixes_train_labels():
    frames = FrameList("x", "/data", ["a", "b", "c"])
    a, b = FrameSpan(frames, 0, 2), FrameSpan(frames, 2, 3)
    entries = [(a, 4, 0), (None, 5, 1), (b, 6, 2)]
    assert make_items(entries) == ([(a, 4, 0), (b, 6, 2)], 1)
    assert make_items(entries, "DS") == ([(a, "DS_4", "DS_0"), (b, "DS_6", "DS_2")], 1)


def test_summary_tables(mars_dataset, caplog):
    root, _ = mars_dataset
    ds = MARS(root=str(root))
    with caplog.at_level(logging.INFO, logger="ctl_plugin"):
        ds.show_train()
        ds.show_test()
    text = caplog.text
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in text.splitlines() if line.startswith("| ") and "subset" not in line}
    assert rows["train"][:2] == ["4", "8"] and rows["train"][-1] == "1"
    assert rows["query"][:2] == ["3", "6"] and rows["query"][-1] == "0"
    assert rows["gallery"][:2] == ["4", "14"] and rows["gallery"][-1] == "1"
    assert int(rows["gallery"][2]) == sum(len(s) for s, _, _ in ds.gallery)


@pytest.mark.parametrize("mode, subset", [("train", "train"), ("query", "query"), ("gallery", "gallery")])
def test_mode_selects_subset(mars_dataset, mode, subset):
    root, _ = mars_dataset
    ds = MARS(root=str(root), mode=mode)
    assert ds.data is getattr(ds, subset) and len(ds) == len(getattr(ds, subset))
