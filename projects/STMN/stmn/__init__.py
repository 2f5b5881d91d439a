"""STMN (Eom et al., ICCV 2021) for ctl-reid: importing the package registers the
`STMN` meta-architecture into fast-reid's META_ARCH_REGISTRY and the STMN config
node into `ctl_plugin.config.build_cfg`."""
import ctl_plugin  # noqa: F401  (compat fixes before fastreid is imported)

from .config import add_stmn_config
from .meta_arch import STMN
from .addressing_plot import draw_addressing

__all__ = ["add_stmn_config", "STMN", "draw_addressing"]
