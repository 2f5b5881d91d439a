from .bases import VideoDataset, DatasetLayoutError
from . import mars  # noqa: F401  (registers MARS, SyntheticMARS)
