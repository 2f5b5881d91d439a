from pathlib import Path

from ctl_plugin.config import build_cfg

import pytest
import yaml
from fastreid.config import CfgNode, get_cfg

from projects.GRL.grl import add_grl_config

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
BASE_VIDEO = CONFIGS.parents[2] / "configs" / "Base-Video.yml"


def full_cfg():
    return build_cfg()


def own_keys(name):
    """A config file's own layers, base first, following `_BASE_` inside this folder."""
    data = yaml.safe_load((CONFIGS / name).read_text())
    base = data.pop("_BASE_")
    if (CONFIGS / base).resolve().parent == CONFIGS:
        return own_keys(base) + [CfgNode(data)]
    assert (CONFIGS / base).resolve() == BASE_VIDEO.resolve(), f"{name}: _BASE_ {base}"
    return [CfgNode(data)]


@pytest.mark.parametrize("name, dataset", [("GRL_MARS.yml", "MARS"), ("GRL_iLIDSVID.yml", "iLIDSVID"),
                                           ("GRL_PRID2011.yml", "PRID2011")])
def test_config_files_hold_known_keys_and_the_official_settings(name, dataset):
    cfg = full_cfg()
    for layer in own_keys(name):
        cfg.merge_from_other_cfg(layer)  # an unknown key is a yacs error
    assert cfg.DATASETS.NAMES == (dataset,) and cfg.DATASETS.TESTS == (dataset,)
    assert cfg.MODEL.META_ARCHITECTURE == "GRL" and cfg.MODEL.HEADS.NAME == "GRLHead"
    assert (cfg.VIDEO.TRAIN.SEQ_LEN, cfg.VIDEO.TEST.SEQ_LEN, cfg.VIDEO.TEST.MODE) == (8, 8, "all")
    assert (cfg.SOLVER.IMS_PER_BATCH, cfg.DATALOADER.NUM_INSTANCE) == (16, 2)
    assert (cfg.SOLVER.OPT, cfg.SOLVER.BASE_LR, cfg.SOLVER.HEADS_LR_FACTOR) == ("SGD", 0.001, 2.0)
    assert (cfg.GRL.OIM.SCALE, cfg.GRL.LOSS.VERIFICATION) == (30.0, 20.0)


@pytest.mark.parametrize("name", ["GRL_MARS.yml", "GRL_iLIDSVID.yml", "GRL_PRID2011.yml"])
def test_config_files_merge_over_the_plugin_base(name):
    cfg = full_cfg()
    cfg.merge_from_file(str(CONFIGS / name))
    assert cfg.MODEL.META_ARCHITECTURE == "GRL" and cfg.VIDEO.TRAIN.SEQ_LEN == 8


def test_grl_node_needs_no_other_project():
    cfg = add_grl_config(get_cfg())
    assert cfg.GRL.ATTENTION_DIM == 512 and cfg.GRL.CHANNEL_REDUCTION == 16
    assert cfg.GRL.LOSS.TRIPLET_MARGIN == 0.0
