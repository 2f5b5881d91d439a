from . import backbones, meta_arch  # register into fast-reid's registries
