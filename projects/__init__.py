"""Methods built on the plugin's video infrastructure, each in fast-reid's project layout.

Importing a project package registers its meta-architecture; `add_project_configs`
adds every project's config node, so any project's YAML file merges into one cfg.
"""


def add_project_configs(cfg):
    from .GRL.grl import add_grl_config
    from .STMN.stmn import add_stmn_config

    add_grl_config(cfg)
    add_stmn_config(cfg)
    return cfg
