from .bases import VideoDataset, DatasetLayoutError
