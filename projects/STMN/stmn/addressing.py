"""Content-based memory addressing shared by both STMN memories."""
import torch.nn.functional as F


def cosine_addressing(queries, keys):
    """Matching probabilities of Eq. 1 (spatial) and Eq. 5 (temporal).

    p(m | q) = exp(cos(q, k_m)) / sum_m' exp(cos(q, k_m')).
    queries [N, C], keys [M, C] -> [N, M], each row summing to 1.
    """
    similarity = F.normalize(queries, dim=1) @ F.normalize(keys, dim=1).t()
    return similarity.softmax(dim=1)
