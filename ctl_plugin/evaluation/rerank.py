"""Re-ranking on sparse matrices, routed into fast-reid's `build_dist`.

`install()` replaces `build_dist` where fast-reid's `ReidEvaluator` looks it up
(`fastreid.evaluation.reid_evaluation`, which imported the name, and
`fastreid.utils.compute_dist`). Its `metric="jaccard"` branch, taken when
`TEST.RERANK.ENABLED`, then computes the k-reciprocal Jaccard distance of the query
rows against the gallery columns with `jaccard.k_reciprocal_jaccard` instead of the
dense N x N `compute_jaccard_distance`; TEST.RERANK.K1, K2 and LAMBDA keep their
meaning. The other metrics go to fast-reid's function, `build_dist.__wrapped__`.
"""
import torch

from .jaccard import k_reciprocal_jaccard


@torch.no_grad()
def build_dist(feat_1: torch.Tensor, feat_2: torch.Tensor, metric: str = "euclidean", **kwargs):
    """fast-reid's `build_dist`; "jaccard" (kwargs k1, k2) returns the [len(feat_1), len(feat_2)]
    block of the k-reciprocal Jaccard distance over the features of both."""
    if metric != "jaccard":
        return build_dist.__wrapped__(feat_1, feat_2, metric, **kwargs)
    features = torch.cat((feat_1, feat_2), dim=0)
    num_query = feat_1.size(0)
    return k_reciprocal_jaccard(features, k1=kwargs["k1"], k2=kwargs["k2"],
                                rows=slice(0, num_query), cols=slice(num_query, None))


def install():
    """Route fast-reid's `build_dist` to the one above; returns False if already routed."""
    from fastreid.evaluation import reid_evaluation
    from fastreid.utils import compute_dist

    if reid_evaluation.build_dist is build_dist:
        return False
    build_dist.__wrapped__ = compute_dist.build_dist
    for module in (compute_dist, reid_evaluation):
        module.build_dist = build_dist
    return True
