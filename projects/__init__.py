"""Methods built on the plugin's video infrastructure, each in fast-reid's project layout.

Each project package is listed under the "ctl_reid.projects" entry point group in
pyproject.toml; `ctl_plugin.config.build_cfg` imports them, which registers their
meta-architectures and config nodes.
"""
