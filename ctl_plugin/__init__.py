"""ctl-reid: video re-identification for fast-reid, with CTL as its flagship method.

Importing the package applies the compatibility fixes (before torchvision or
fastreid is imported) and registers the plugin's datasets, backbones, heads and
meta-architectures into fast-reid's registries; nothing else of fast-reid's changes.
Video evaluation (the flip test of clips, sparse re-ranking, Rank-20) is reached through
`engine.VideoTrainer`.
"""
from . import compat

compat.apply()

from . import data, evaluation, modeling  # noqa: E402
from .config import add_plugin_config, build_cfg  # noqa: E402

__all__ = ["add_plugin_config", "build_cfg"]
