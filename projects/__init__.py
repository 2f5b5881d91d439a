"""Methods built on the plugin's video infrastructure, each in fast-reid's project layout."""


def add_project_configs(cfg):
    """Add every project's config node, so any project's YAML file merges into one cfg."""
    return cfg
