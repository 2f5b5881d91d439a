"""GRL: Global-guided Reciprocal Learning for video re-ID (Liu et al., CVPR 2021).

Importing the package registers the `GRL` meta-architecture and `GRLHead` into
fast-reid's registries and the GRL config node into `ctl_plugin.config.build_cfg`.
"""
import ctl_plugin

from .config import add_grl_config
from .grl_head import GRLHead
from .grl_meta_arch import GRL

__all__ = ["add_grl_config", "GRL", "GRLHead"]
