"""A small synthetic video re-ID set in the MARS layout, with ground-truth key-points.

Walkers are drawn from the key-points of a walking pose; identity is carried by
per-part clothing colours and a shirt texture; cameras differ in colour cast,
scale, background clutter and walking direction; some tracklets are partly
occluded. See `mars_writer.generate_synthetic_mars`.
"""
from .mars_writer import DATASET_DIR, DATASET_NAME, ESTIMATOR, SyntheticMarsSummary, generate_synthetic_mars

__all__ = ["DATASET_DIR", "DATASET_NAME", "ESTIMATOR", "SyntheticMarsSummary", "generate_synthetic_mars"]
