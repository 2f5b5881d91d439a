"""STMN (Eom et al., ICCV 2021) for ctl-reid: importing the package registers the
`STMN` meta-architecture into fast-reid's META_ARCH_REGISTRY and the STMN config
node into `ctl_plugin.config.build_cfg`."""
import ctl_plugin

from .addressing_plot import draw_addressing
from .config import add_stmn_config
from .meta_arch import STMN

__all__ = ["add_stmn_config", "STMN", "draw_addressing"]
