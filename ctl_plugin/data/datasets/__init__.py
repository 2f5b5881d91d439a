# each module registers its datasets into fast-reid's DATASET_REGISTRY: MARS and SyntheticMARS,
# iLIDSVID, PRID2011, DukeMTMCVidReID, LSVID, VideoFolder
from . import (
    duke_video,
    ilidsvid,
    lsvid,
    mars,
    prid2011,
    video_folder,
)
from .bases import DatasetLayoutError, VideoDataset
