from .bases import VideoDataset, DatasetLayoutError
from . import mars  # noqa: F401  (registers MARS, SyntheticMARS)
from . import ilidsvid  # noqa: F401  (registers iLIDSVID)
