"""`ctl_plugin.config.build_cfg`: every shipped config builds, projects register through
entry points, renamed keys name their new names, unknown keys are yacs errors."""
import glob
import os

from ctl_plugin.config import PROJECT_ENTRY_POINTS, ConfigError, build_cfg

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = sorted(glob.glob(os.path.join(ROOT, "configs", "**", "*.yml"), recursive=True)
                 + glob.glob(os.path.join(ROOT, "projects", "*", "configs", "*.yml")))


def test_projects_are_installed_entry_points():
    from importlib.metadata import entry_points
    names = {e.name for e in entry_points(group=PROJECT_ENTRY_POINTS)}
    assert {"GRL", "STMN"} <= names
    cfg = build_cfg()
    assert cfg.GRL.ATTENTION_DIM == 512 and cfg.STMN.SPATIAL_MEMORY.SIZE == 10


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: os.path.relpath(p, ROOT))
def test_every_config_builds(path):
    cfg = build_cfg(path)
    assert cfg.MODEL.META_ARCHITECTURE in ("VideoBaseline", "CTL", "GRL", "STMN")
    parts = cfg.OUTPUT_DIR.split("/")
    assert parts[0] == "logs" and parts[1] == parts[1].lower(), cfg.OUTPUT_DIR  # logs/<dataset>/<model>


def test_dataset_leaves_hold_only_what_differs_from_their_base():
    """A CTL leaf changes the dataset and the output folder and nothing of the paper's settings."""
    base = build_cfg(os.path.join(ROOT, "configs", "Base-CTL.yml"))
    leaf = build_cfg(os.path.join(ROOT, "configs", "CTL_MARS.yml"))
    base.DATASETS.NAMES, base.DATASETS.TESTS = leaf.DATASETS.NAMES, leaf.DATASETS.TESTS
    base.OUTPUT_DIR = leaf.OUTPUT_DIR
    assert base.dump() == leaf.dump()
    assert (leaf.CTL.GCL.NUM_LAYERS, leaf.CTL.GCL.WINDOW, leaf.CTL.CROSS_SCALE.ALPHA,
            leaf.SOLVER.MAX_EPOCH, leaf.SOLVER.BASE_LR) == (2, 3, 0.3, 240, 0.0003)


@pytest.mark.parametrize("name", ["CTL_MARS.yml", "CTL_LSVID.yml", "CTL_iLIDSVID.yml", "Demo/CTL_Synthetic.yml"])
def test_ctl_on_an_imagenet_backbone_starts_its_part_terms_shut(name):
    """docs/ctl.md choice 17: from ImageNet the part terms start behind a BN gate at 0."""
    cfg = build_cfg(os.path.join(ROOT, "configs", name))
    assert cfg.MODEL.BACKBONE.PRETRAIN and cfg.CTL.FUSION.PART_TERM == "zero_bn"


def test_the_default_part_term_is_the_papers_plain_sum():
    assert build_cfg(None).CTL.FUSION.PART_TERM == "sum"


def test_renamed_keys_name_the_new_key():
    with pytest.raises(KeyError, match="KEYPOINTS.ESTIMATOR was renamed to KEYPOINTS.CACHE_ESTIMATOR"):
        build_cfg(None, ["KEYPOINTS.ESTIMATOR", "mediapipe"])
    with pytest.raises(KeyError, match="KEYPOINTS.EXTRACT.ESTIMATOR was renamed to KEYPOINTS.EXTRACT.BACKEND"):
        build_cfg(None, ["KEYPOINTS.EXTRACT.ESTIMATOR", "mediapipe"])
    assert build_cfg(None, ["KEYPOINTS.CACHE_ESTIMATOR", "x"]).KEYPOINTS.CACHE_ESTIMATOR == "x"


def test_unknown_key_is_a_yacs_error():
    with pytest.raises(AssertionError, match="Non-existent key: CTL.GCL.WINDOWS"):
        build_cfg(None, ["CTL.GCL.WINDOWS", "3"])


def test_unknown_key_in_a_base_file_names_that_file(tmp_path):
    (tmp_path / "bases").mkdir()
    base = tmp_path / "bases" / "base.yml"
    base.write_text(f"_BASE_: {os.path.join(ROOT, 'configs', 'Base-Video.yml')}\nSOLVER:\n  MAX_EPOCHS: 3\n")
    leaf = tmp_path / "leaf.yml"
    leaf.write_text("_BASE_: bases/base.yml\nSOLVER:\n  BASE_LR: 0.1\n")
    with pytest.raises(ConfigError, match=r"'.*bases/base\.yml' sets SOLVER\.MAX_EPOCHS, which is no config key "
                                          r"\(read through '.*leaf\.yml'\)"):
        build_cfg(str(leaf))
    base.write_text(f"_BASE_: {os.path.join(ROOT, 'configs', 'Base-Video.yml')}\nSOLVER:\n  MAX_EPOCH: 3\n")
    leaf.write_text("_BASE_: bases/base.yml\nCTL:\n  GCL:\n    WINDOWS: 3\n")
    with pytest.raises(ConfigError, match=r"'.*leaf\.yml' sets CTL\.GCL\.WINDOWS"):
        build_cfg(str(leaf))
