"""Memory spread loss (Eq. 8 of the STMN paper)."""
import torch


def memory_spread_loss(addressing, margin):
    """L_spread = 1/M sum_m [p_m^- - p_m^+ + margin]_+ .

    p_m^+ and p_m^- are the largest and smallest probability with which any
    query of the batch addresses item m. The loss is zero exactly when every
    item is addressed by some query at least `margin` more strongly than by
    another, so no item is left unused or read uniformly by all queries.
    addressing [..., M] (rows: queries) -> scalar.
    """
    weights = addressing.reshape(-1, addressing.shape[-1])
    if weights.shape[0] < 2:
        raise ValueError(f"memory spread loss needs at least 2 queries, "
                         f"got addressing of shape {tuple(addressing.shape)}")
    most, least = weights.amax(dim=0), weights.amin(dim=0)
    return torch.relu(least - most + margin).mean()
