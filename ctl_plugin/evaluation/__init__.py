"""Evaluation of tracklets with fast-reid's own machinery, and what it needs for video:

- `video_evaluator.VideoReidEvaluator`: fast-reid's ReidEvaluator with the k-reciprocal
  re-ranking on sparse matrices (query rows only) and Rank-20;
- `flip_test`: fast-reid's inference loop with the flip test of clips (width flipped,
  key-points mirrored, normalised once).

`engine.VideoTrainer` reaches both through `build_evaluator` and `test`; importing the
package changes nothing of fast-reid's.
"""
from .flip_test import inference_on_dataset
from .jaccard import k_reciprocal_jaccard
from .video_evaluator import VideoReidEvaluator, check_test_split

__all__ = ["VideoReidEvaluator", "check_test_split", "inference_on_dataset", "k_reciprocal_jaccard"]
