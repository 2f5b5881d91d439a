from . import backbones, meta_arch  # noqa: F401  (register into fast-reid's registries)
