"""Cross-scale graph convolution of CTL (Sec. 3.4, Eq. 5-6), per frame."""
import torch
from torch import nn


class FcBnRelu(nn.Module):
    """A fully connected layer, BN over every leading position, ReLU (the embeddings of Eq. 5)."""

    def __init__(self, in_dim, out_dim):
        super().__init__()
        self.fc = nn.Linear(in_dim, out_dim, bias=False)
        self.bn = nn.BatchNorm1d(out_dim)

    def activate(self, pre):
        """BN + ReLU of pre-activations [..., out_dim]."""
        return torch.relu(self.bn(pre.reshape(-1, pre.shape[-1])).view_as(pre))

    def forward(self, x):
        return self.activate(self.fc(x))


class RelationFeature(nn.Module):
    """Eq. 5 for one scale: p_i = sum_j h([phi(x_i), varphi(x_j - x_i)]), r_i = f([x_i, p_i]).

    phi and varphi come from the owning CS-GCL (shared by its two scales, as the
    paper writes them without a scale index); h and f belong to the scale.
    The pairwise term is computed without materialising x_j - x_i at width C:
    varphi's linear map is applied to the nodes first (FC(x_j - x_i) = FC x_j - FC x_i,
    the FC having no bias since BN follows).
    """

    def __init__(self, channels, embed_dim):
        super().__init__()
        self.h = FcBnRelu(2 * embed_dim, embed_dim)
        self.f = FcBnRelu(channels + embed_dim, embed_dim)
        self.embed_dim = embed_dim

    def forward(self, x, phi, varphi):
        e = self.embed_dim
        u = varphi.fc(x)  # [B, T, N, E]
        pair = varphi.activate(u.unsqueeze(-3) - u.unsqueeze(-2))  # [.., i, j, E] = varphi(x_j - x_i)
        w = self.h.fc.weight
        pre = (phi(x) @ w[:, :e].t()).unsqueeze(-2) + pair @ w[:, e:].t()
        p = self.h.activate(pre).sum(-2)
        return self.f(torch.cat([x, p], dim=-1))


class CrossScaleGraphConv(nn.Module):
    """CS-GCL from a source scale to a destination scale (Eq. 5-6), for every frame:

        A[m, i] = softmax_i(r_m,dst . r_i,src),   X_dst<-src = ReLU(A X_src W).

    Open choice: the softmax runs over the source nodes i, so each destination
    part takes a convex combination of source parts.
    x_src [B, T, N_src, C], x_dst [B, T, N_dst, C] -> [B, T, N_dst, C]
    """

    def __init__(self, channels, embed_dim):
        super().__init__()
        self.phi = FcBnRelu(channels, embed_dim)
        self.varphi = FcBnRelu(channels, embed_dim)
        self.relation_src = RelationFeature(channels, embed_dim)
        self.relation_dst = RelationFeature(channels, embed_dim)
        self.transform = nn.Linear(channels, channels, bias=False)  # W_s23 / W_s13

    def adjacency(self, x_src, x_dst):
        """A_{src,dst} [B, T, N_dst, N_src] of Eq. 5."""
        r_src = self.relation_src(x_src, self.phi, self.varphi)
        r_dst = self.relation_dst(x_dst, self.phi, self.varphi)
        return torch.softmax(r_dst @ r_src.transpose(-1, -2), dim=-1)

    def forward(self, x_src, x_dst):
        return torch.relu(self.adjacency(x_src, x_dst) @ self.transform(x_src))
