"""Retrieval outside the evaluator: tracklet features, their cache on disk, a faiss gallery index."""
from .feature_cache import FeatureCache
from .features import extract_features
from .gallery_index import GalleryIndex

__all__ = ["FeatureCache", "GalleryIndex", "extract_features"]
