from . import meta_arch  # noqa: F401  (registers into fast-reid's registries)
