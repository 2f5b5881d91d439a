"""Online Instance Matching loss (Xiao et al., CVPR 2017), labelled part only."""
import torch
import torch.nn.functional as F
from torch import nn


def occurrence_index(targets):
    """For each sample, how many earlier samples of the batch carry the same target."""
    order = torch.sort(targets, stable=True)
    position = torch.arange(len(targets), device=targets.device)
    first = torch.ones_like(targets, dtype=torch.bool)
    first[1:] = order.values[1:] != order.values[:-1]
    group_start = torch.where(first, position, torch.zeros_like(position)).cummax(dim=0).values
    occurrence = torch.empty_like(position)
    occurrence[order.indices] = position - group_start
    return occurrence


class OIMLoss(nn.Module):
    """loss = CE(SCALE * x V^T, y) with V [num_classes, C] a look-up table of unit
    identity features (a buffer, no gradient). `update` then moves each sample's row,
    in sample order: V_y <- normalise(MOMENTUM * V_y + (1 - MOMENTUM) * x). The
    caller updates once every loss of the step has taken its logits, as the official
    code does from its backward pass.
    """

    def __init__(self, num_features, num_classes, scale, momentum):
        super().__init__()
        self.scale = scale
        self.momentum = momentum
        self.register_buffer("lut", torch.zeros(num_classes, num_features))

    def forward(self, features, targets):
        """features [N, C] (L2-normalised), targets [N] -> (loss, scaled logits [N, num_classes])."""
        self.check_targets(targets)
        logits = self.scale * features @ self.lut.clone().t()
        return F.cross_entropy(logits, targets), logits

    def check_targets(self, targets):
        if targets.numel() and (targets.min() < 0 or targets.max() >= len(self.lut)):
            raise ValueError(f"OIM targets must lie in [0, {len(self.lut)}) (MODEL.HEADS.NUM_CLASSES, "
                             f"the number of training identities), got [{int(targets.min())}, "
                             f"{int(targets.max())}]")

    @torch.no_grad()
    def update(self, features, targets):
        """Sequential moving-average update, vectorised over distinct identities."""
        self.check_targets(targets)
        occurrence = occurrence_index(targets)
        for k in range(int(occurrence.max()) + 1 if len(targets) else 0):
            chosen = occurrence == k
            rows = targets[chosen]
            mixed = self.momentum * self.lut[rows] + (1 - self.momentum) * features[chosen]
            self.lut[rows] = F.normalize(mixed, dim=1)
