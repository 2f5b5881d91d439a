"""Cross-scale graph convolution of CTL (Sec. 3.4, Eq. 5-6), per frame."""
import torch
from torch import nn

from .onednn_linear import Linear, linear

# CTL.CROSS_SCALE.EMBEDDING_BN: one BN per scale after phi / varphi, or one for both scales
EMBEDDING_BNS = ("per_scale", "shared")


class FcBnRelu(nn.Module):
    """A fully connected layer, BN over every leading position, ReLU (the embeddings of Eq. 5).

    populations > 1: the FC is shared, and each population (a scale the embedding is
    applied to) has a BN of its own, so its running statistics describe one
    distribution of inputs, not the mixture of several.
    """

    def __init__(self, in_dim, out_dim, populations=1):
        super().__init__()
        self.fc = Linear(in_dim, out_dim)
        self.bns = nn.ModuleList(nn.BatchNorm1d(out_dim) for _ in range(populations))

    def activate(self, pre, population=0):
        """BN + ReLU of pre-activations [..., out_dim]."""
        bn = self.bns[population if len(self.bns) > 1 else 0]
        return torch.relu(bn(pre.reshape(-1, pre.shape[-1])).view_as(pre))

    def forward(self, x, population=0):
        return self.activate(self.fc(x), population)


class RelationFeature(nn.Module):
    """Eq. 5 for one scale: p_i = sum_j h([phi(x_i), varphi(x_j - x_i)]), r_i = f([x_i, p_i]).

    phi and varphi come from the owning CS-GCL (shared by its two scales, as the
    paper writes them without a scale index; `population` picks this scale's BN when
    they keep one per scale); h and f belong to the scale.
    The pairwise term is computed without materialising x_j - x_i at width C:
    varphi's linear map is applied to the nodes first (FC(x_j - x_i) = FC x_j - FC x_i,
    the FC having no bias since BN follows).
    """

    def __init__(self, channels, embed_dim):
        super().__init__()
        self.h = FcBnRelu(2 * embed_dim, embed_dim)
        self.f = FcBnRelu(channels + embed_dim, embed_dim)
        self.embed_dim = embed_dim

    def forward(self, x, phi, varphi, population=0):
        e = self.embed_dim
        u = varphi.fc(x)  # [B, T, N, E]
        pair = varphi.activate(u.unsqueeze(-3) - u.unsqueeze(-2), population)  # [.., i, j, E] = varphi(x_j - x_i)
        w = self.h.fc.weight
        pre = linear(phi(x, population), w[:, :e]).unsqueeze(-2) + linear(pair, w[:, e:])
        p = self.h.activate(pre).sum(-2)
        return self.f(torch.cat([x, p], dim=-1))


class CrossScaleGraphConv(nn.Module):
    """CS-GCL from a source scale to a destination scale (Eq. 5-6), for every frame:

        A[m, i] = softmax_i(r_m,dst . r_i,src),   X_dst<-src = ReLU(A X_src W).

    Open choices: the softmax runs over the source nodes i, so each destination
    part takes a convex combination of source parts. phi and varphi are one FC each
    for both scales; with `bn_per_scale` (CTL.CROSS_SCALE.EMBEDDING_BN "per_scale")
    each scale has its own BN after them, otherwise one BN sees both scales' nodes.
    x_src [B, T, N_src, C], x_dst [B, T, N_dst, C] -> [B, T, N_dst, C]
    """

    def __init__(self, channels, embed_dim, bn_per_scale=True):
        super().__init__()
        populations = 2 if bn_per_scale else 1
        self.phi = FcBnRelu(channels, embed_dim, populations)
        self.varphi = FcBnRelu(channels, embed_dim, populations)
        self.relation_src = RelationFeature(channels, embed_dim)
        self.relation_dst = RelationFeature(channels, embed_dim)
        self.transform = Linear(channels, channels)  # W_s23 / W_s13

    def adjacency(self, x_src, x_dst):
        """A_{src,dst} [B, T, N_dst, N_src] of Eq. 5."""
        r_src = self.relation_src(x_src, self.phi, self.varphi, population=0)
        r_dst = self.relation_dst(x_dst, self.phi, self.varphi, population=1)
        return torch.softmax(r_dst @ r_src.transpose(-1, -2), dim=-1)

    def forward(self, x_src, x_dst):
        return torch.relu(self.adjacency(x_src, x_dst) @ self.transform(x_src))
