"""`VideoReidEvaluator`: fast-reid's `ReidEvaluator` for tracklets, reached through
`VideoTrainer.build_evaluator` as fast-reid's projects reach theirs.

- TEST.RERANK.ENABLED: the k-reciprocal Jaccard distance on sparse matrices, for the query
  rows only (`jaccard.k_reciprocal_jaccard`), where fast-reid builds the dense N x N one;
  K1, K2 and LAMBDA keep their meaning, and the distance equals fast-reid's to 1e-5;
- Rank-20 beside fast-reid's Rank-1, 5 and 10: the CTL paper's tables give R-1, R-5, R-20;
- a rank beyond the gallery's size is the whole gallery's (fast-reid's CMC has one entry
  per gallery tracklet, so a gallery under 10 tracklets failed with an IndexError).
Everything else is fast-reid's: the gathering across processes, AQE, TEST.METRIC's
distance, the Cython ranks, mAP, mINP, the "metric" and TEST.ROC.
"""
import copy
import itertools
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F
from fastreid.evaluation import ReidEvaluator
from fastreid.evaluation.query_expansion import aqe
from fastreid.evaluation.rank import evaluate_rank
from fastreid.utils import comm
from fastreid.utils.compute_dist import build_dist

from .jaccard import k_reciprocal_jaccard

RANKS = (1, 5, 10, 20)


def check_test_split(dataset_name, items, num_query):
    """Refuse, before any inference, a test split (tracklet items (span, pid, camid), queries
    first) that fast-reid's evaluator would reject after it: no query, no gallery, or no
    query whose identity the gallery holds from another camera (same-identity same-camera
    tracklets are junk)."""
    query, gallery = items[:num_query], items[num_query:]
    if not query or not gallery:
        raise ValueError(f"{dataset_name} has {len(query)} query and {len(gallery)} gallery tracklets with "
                         f"frames: evaluation needs both (DATASETS.TESTS)")
    cameras_of = {}
    for _, pid, camid in gallery:
        cameras_of.setdefault(pid, set()).add(camid)
    if not any(cameras_of.get(pid, set()) - {camid} for _, pid, camid in query):
        raise ValueError(f"{dataset_name}: none of its {len(query)} query tracklets has a gallery tracklet "
                         f"of its identity from another camera, so no query can be evaluated (DATASETS.TESTS)")


class VideoReidEvaluator(ReidEvaluator):
    def gathered(self):
        """(features, pids, camids) of every process's predictions, in order, on the main
        process; None on the others."""
        predictions = self._predictions
        if comm.get_world_size() > 1:
            comm.synchronize()
            predictions = list(itertools.chain(*comm.gather(self._predictions, dst=0)))
            if not comm.is_main_process():
                return None
        return (torch.cat([p["feats"] for p in predictions]),
                torch.cat([p["pids"] for p in predictions]).numpy(),
                torch.cat([p["camids"] for p in predictions]).numpy())

    def rerank(self, query, gallery):
        """The k-reciprocal Jaccard distance [Q, G] of TEST.RERANK's K1 and K2."""
        test = self.cfg.TEST
        if test.METRIC == "cosine":
            query, gallery = F.normalize(query, dim=1), F.normalize(gallery, dim=1)
        return k_reciprocal_jaccard(torch.cat((query, gallery)), k1=test.RERANK.K1, k2=test.RERANK.K2,
                                    rows=slice(0, len(query)), cols=slice(len(query), None))

    def distance(self, query, gallery):
        """fast-reid's distance of TEST.METRIC (after AQE when enabled), mixed with the
        re-ranked one as fast-reid mixes them when TEST.RERANK.ENABLED."""
        test = self.cfg.TEST
        if test.AQE.ENABLED:
            query, gallery = aqe(query, gallery, test.AQE.QE_TIME, test.AQE.QE_K, test.AQE.ALPHA)
        dist = build_dist(query, gallery, test.METRIC)
        if test.RERANK.ENABLED:
            dist = self.rerank(query, gallery) * (1 - test.RERANK.LAMBDA) + dist * test.RERANK.LAMBDA
        return dist

    def evaluate(self):
        gathered = self.gathered()
        if gathered is None:
            return {}
        features, pids, camids = gathered
        q = self._num_query
        dist = self.distance(features[:q], features[q:])
        cmc, all_ap, all_inp = evaluate_rank(dist, pids[:q], pids[q:], camids[:q], camids[q:])
        results = OrderedDict()
        for r in RANKS:
            results[f"Rank-{r}"] = cmc[min(r, len(cmc)) - 1] * 100
        results["mAP"] = np.mean(all_ap) * 100
        results["mINP"] = np.mean(all_inp) * 100
        results["metric"] = (results["mAP"] + results["Rank-1"]) / 2
        if self.cfg.TEST.ROC.ENABLED:
            from fastreid.evaluation.roc import evaluate_roc
            from sklearn import metrics

            scores, labels = evaluate_roc(dist, pids[:q], pids[q:], camids[:q], camids[q:])
            fprs, tprs, _ = metrics.roc_curve(labels, scores)
            for fpr in (1e-4, 1e-3, 1e-2):
                results[f"TPR@FPR={fpr:.0e}"] = tprs[np.argmin(np.abs(fprs - fpr))]
        self._results = results
        return copy.deepcopy(results)
