import ctl_plugin  # noqa: F401  (compat fixes before any fastreid import)
