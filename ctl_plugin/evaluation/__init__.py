"""Evaluation of tracklets with fast-reid's own evaluator, and what it needs for video:

- `rerank`: k-reciprocal re-ranking on sparse matrices, for the query rows only;
- `flip_test`: the flip test of clips (width flipped, key-points mirrored, normalised once).

`install()` (run on `import ctl_plugin`) routes fast-reid to both.
"""
from . import flip_test, rerank
from .jaccard import k_reciprocal_jaccard
from .rerank import build_dist

__all__ = ["build_dist", "install", "k_reciprocal_jaccard"]


def install():
    """Route fast-reid's re-ranking and flip test; returns the names of what was routed now."""
    return [module.__name__ for module in (rerank, flip_test) if module.install()]
