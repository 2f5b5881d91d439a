"""fast-reid's trainer, evaluator, re-ranking and flip test running video re-ID end to end."""
import os

from ctl_plugin import engine
from ctl_plugin.config import build_cfg
from ctl_plugin.data.build import build_video_test_loader, build_video_train_loader

import pytest
import torch
from fastreid.engine import default_argument_parser
from fastreid.utils.checkpoint import Checkpointer
from fastreid.utils.events import EventStorage

from tests.fixtures import video_datasets

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

TINY = [
    "MODEL.DEVICE", "cpu", "MODEL.BACKBONE.DEPTH", "18x", "MODEL.BACKBONE.FEAT_DIM", "512",
    "MODEL.BACKBONE.PRETRAIN", "False", "INPUT.SIZE_TRAIN", "[64, 32]", "INPUT.SIZE_TEST", "[64, 32]",
    "INPUT.PADDING.SIZE", "4", "DATASETS.NAMES", "('MARS',)", "DATASETS.TESTS", "('MARS',)",
    "SOLVER.IMS_PER_BATCH", "8", "DATALOADER.NUM_INSTANCE", "2", "DATALOADER.NUM_WORKERS", "0",
    "VIDEO.TEST.NUM_WORKERS", "0", "VIDEO.TRAIN.SEQ_LEN", "4", "VIDEO.TEST.SEQ_LEN", "4",
    "TEST.IMS_PER_BATCH", "4", "CUDNN_BENCHMARK", "False",
]


def parse(output_dir, *extra):
    argv = ["--config-file", os.path.join(ROOT, "configs", "Base-Video.yml"), *TINY,
            "OUTPUT_DIR", str(output_dir), *extra]
    return default_argument_parser().parse_args(argv)



def test_train_loader_gives_identity_balanced_clips(mars_root):
    cfg = engine.setup(parse(mars_root / "out"))
    loader = build_video_train_loader(cfg)
    assert loader.dataset.num_classes == 4
    batch = next(iter(loader))
    assert batch["images"].shape == (8, 4, 3, 64, 32)
    pids = batch["targets"].tolist()
    assert all(pids.count(p) == 2 for p in pids) and len(set(pids)) == 4  # P=4 ids x K=2 tracklets
    assert set(batch) == {"images", "targets", "camids"}


def test_test_loader_yields_queries_first_one_item_per_tracklet(mars_root):
    cfg = engine.setup(parse(mars_root / "out"))
    loader, num_query = build_video_test_loader(cfg, "MARS")
    ds = loader.dataset
    assert num_query == 6 and len(ds) == 6 + 12 + 2  # every test tracklet with pid != -1
    seen = []
    for batch in loader:
        n = batch["num_clips"]
        assert batch["images"].shape == (int(n.sum()), 4, 3, 64, 32)
        seen += batch["targets"].tolist()
    assert seen == [item[1] for item in ds.img_items]
    lengths = [len(item[0]) for item in ds.img_items]
    assert [-(-L // 4) for L in lengths[:4]] == [ds[i]["num_clips"] for i in range(4)]


def test_unknown_config_key_is_a_yacs_error(mars_root):
    with pytest.raises(AssertionError, match="Non-existent key: VIDEO.TRAIN.SEQ_LENGTH"):
        engine.setup(parse(mars_root / "out", "VIDEO.TRAIN.SEQ_LENGTH", "5"))


def test_train_and_evaluate_with_rerank_and_flip(mars_root):
    out = mars_root / "out"
    args = parse(out, "SOLVER.MAX_EPOCH", "3", "SOLVER.CHECKPOINT_PERIOD", "3", "TEST.EVAL_PERIOD", "3",
                 "TEST.RERANK.ENABLED", "True", "TEST.RERANK.K1", "4", "TEST.RERANK.K2", "2",
                 "TEST.FLIP.ENABLED", "True", "TEST.AQE.ENABLED", "True", "TEST.AQE.QE_K", "2")
    engine.main(args)
    assert (out / "model_final.pth").exists() and (out / "config.yaml").exists()
    assert any(f.startswith("events.out.tfevents") for f in os.listdir(out))
    args = parse(out, "MODEL.WEIGHTS", str(out / "model_final.pth"))
    args.eval_only = True
    results = engine.main(args)
    for key in ("Rank-1", "Rank-5", "mAP", "mINP"):
        assert 0.0 <= results[key] <= 100.0
    # identities are colours: even a briefly trained model ranks well above chance
    assert results["mAP"] > 40.0


def test_lsvid_release_layout_through_eval_only(tmp_path, monkeypatch):
    """LS-VID as released: identity-balanced training clips, and a saved checkpoint
    evaluated by `train_net.py --eval-only` with fast-reid's evaluator (5 queries,
    10 gallery tracklets, the queries not among them)."""
    video_datasets.make_lsvid(str(tmp_path / "data"))
    monkeypatch.setenv("FASTREID_DATASETS", str(tmp_path / "data"))
    out = tmp_path / "out"
    lsvid = ("DATASETS.NAMES", "('LSVID',)", "DATASETS.TESTS", "('LSVID',)")
    cfg = engine.setup(parse(out, *lsvid))
    batch = next(iter(build_video_train_loader(cfg)))
    assert batch["images"].shape == (8, 4, 3, 64, 32) and len(set(batch["targets"].tolist())) == 4
    loader, num_query = build_video_test_loader(cfg, "LSVID")
    assert (num_query, len(loader.dataset)) == (5, 15)
    Checkpointer(engine.VideoTrainer.build_model(cfg), str(out)).save("model_init")
    args = parse(out, *lsvid, "MODEL.WEIGHTS", str(out / "model_init.pth"))
    args.eval_only = True
    results = engine.main(args)
    for key in ("Rank-1", "Rank-5", "mAP", "mINP"):
        assert 0.0 <= results[key] <= 100.0


@pytest.mark.parametrize("model", ["Baseline", "CTL"])
def test_lsvid_configs_change_only_the_dataset(model):
    """configs/<model>_LSVID.yml is <model>_MARS.yml with LS-VID's datasets and output folder."""
    lsvid, mars = (build_cfg(os.path.join(ROOT, "configs", f"{model}_{d}.yml"))
                   for d in ("LSVID", "MARS"))
    assert lsvid.DATASETS.NAMES == lsvid.DATASETS.TESTS == ("LSVID",)
    assert lsvid.OUTPUT_DIR == f"logs/lsvid/{model.lower()}"
    lsvid.merge_from_list(["DATASETS.NAMES", mars.DATASETS.NAMES, "DATASETS.TESTS",
                           mars.DATASETS.TESTS, "OUTPUT_DIR", mars.OUTPUT_DIR])
    assert lsvid == mars


def test_loss_dict_names_fastreid_losses(mars_root):
    cfg = engine.setup(parse(mars_root / "out"))
    cfg.defrost()
    cfg.MODEL.HEADS.NUM_CLASSES = 4
    model = engine.VideoTrainer.build_model(cfg)
    batch = next(iter(build_video_train_loader(cfg)))
    with EventStorage():
        losses = model(batch)
    assert set(losses) == {"loss_cls", "loss_triplet"}
    assert all(torch.isfinite(v) and v > 0 for v in losses.values())


def test_missing_pretrained_weights_name_the_key(mars_root):
    cfg = engine.setup(parse(mars_root / "out", "MODEL.BACKBONE.PRETRAIN", "True",
                                "MODEL.BACKBONE.PRETRAIN_PATH", str(mars_root / "missing.pth")))
    with pytest.raises(FileNotFoundError, match="MODEL.BACKBONE.PRETRAIN_PATH .*missing.pth"):
        engine.VideoTrainer.build_model(cfg)
