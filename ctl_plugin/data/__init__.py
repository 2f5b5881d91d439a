from . import datasets  # noqa: F401  (registers into fast-reid's DATASET_REGISTRY)
