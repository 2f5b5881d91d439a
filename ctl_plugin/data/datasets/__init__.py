from .bases import VideoDataset, DatasetLayoutError
from . import mars  # noqa: F401  (registers MARS, SyntheticMARS)
from . import ilidsvid  # noqa: F401  (registers iLIDSVID)
from . import prid2011  # noqa: F401  (registers PRID2011)
from . import duke_video  # noqa: F401  (registers DukeMTMCVidReID)
from . import lsvid  # noqa: F401  (registers LSVID)
from . import video_folder  # noqa: F401  (registers VideoFolder)
