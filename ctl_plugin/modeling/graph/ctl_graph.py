"""CTL's graph head (Sec. 3.1-3.4): feature maps and heat-maps -> V_g and V_p."""
import functools

import torch
from scipy.linalg import block_diag
from torch import nn

from ...config import ConfigError
from ...keypoints import skeleton
from .cross_scale import CrossScaleGraphConv
from .graph_conv3d import LAYER_MODES, GraphConvLayer
from .part_features import PartFeatures, node_layout
from .stages import stage

DESTINATION = "s3"
# CTL.GCL.MODE: a graph layer's mode, or "none" (no graph layers, Table 3 "Basel")
GCL_MODES = (*LAYER_MODES, "none")


def member_pooling(src, dst):
    """[N_dst, N_src]: a destination part is the mean of the source nodes it contains."""
    inside = (skeleton.keypoint_to_part(src).T @ skeleton.keypoint_to_part(dst)) > 0  # [N_src, N_dst]
    inside = torch.from_numpy(inside.T.astype("float32"))
    return inside / inside.sum(1, keepdim=True)


class CTLGraph(nn.Module):
    """Part features of `scales` (Eq. 1) -> L graph layers on the context-reinforced
    topology (Eq. 2-4, shortcut X^{l+1} = X^l + X^{l+1} from the second layer on)
    -> V_p = X_s3 + alpha * sum over the other scales of X_s->s3 (Eq. 7).

    X_s->s3 is the CS-GCL of Eq. 5-6 (`cross_scale=True`) or, for Table 3's
    "+3D" row, the plain average of the scale's nodes inside each s3 part.
    With cs_layers M = 2 the CS-GCLs also run after the first graph layer, their
    V_p replacing the s3 nodes fed to the next layer (Table 5); every run has its
    own CS-GCLs.

    fmaps [B, T, C, h, w], heatmaps [B, T, 17, h, w] -> (V_g [B, T, C], V_p [B, T, 5, C])
    """

    def __init__(self, channels, scales=("s3", "s1", "s2"), gcl_mode="3d", num_layers=2, window=3,
                 num_frames=6, use_mask=True, use_context=True, cross_scale=True, cs_layers=1,
                 alpha=0.3, embed_dim=256, embedding_bn_per_scale=True):
        super().__init__()
        scales = tuple(scales)
        if DESTINATION not in scales or len(set(scales)) != len(scales):
            raise ConfigError(f"CTL.CROSS_SCALE.SCALES must hold 's3' and no repeats, got {scales}")
        if gcl_mode not in GCL_MODES:
            raise ConfigError(f"CTL.GCL.MODE: expected one of {GCL_MODES}, got {gcl_mode!r}")
        if cs_layers not in (1, 2) or (cs_layers == 2 and (gcl_mode == "none" or num_layers < 2)):
            raise ConfigError(f"CTL.CROSS_SCALE.NUM_LAYERS must be 1, or 2 with CTL.GCL.NUM_LAYERS >= 2 "
                             f"and CTL.GCL.MODE not 'none'; got {cs_layers} with {num_layers} "
                             f"{gcl_mode!r} layers")
        self.part_features = PartFeatures(scales)
        sizes, offsets = node_layout(scales)
        self.slices = {s: slice(o, o + n) for s, n, o in zip(scales, sizes, offsets)}
        self.sources = tuple(s for s in scales if s != DESTINATION)
        self.alpha = alpha
        groups = torch.cat([torch.full((n,), i) for i, n in enumerate(sizes)])
        physical = block_diag(*[skeleton.physical_adjacency(s) for s in scales])
        n_layers = 0 if gcl_mode == "none" else num_layers
        self.layers = nn.ModuleList(
            GraphConvLayer(channels, physical, groups, gcl_mode, window, num_frames, use_mask, use_context)
            for _ in range(n_layers))
        # the graph layers after which V_p is formed (the last one always; the first too when M = 2)
        self.cs_after = (0, n_layers - 1) if cs_layers == 2 else (n_layers - 1,)
        self.cross_scale = None
        if cross_scale:
            self.cross_scale = nn.ModuleList(
                nn.ModuleList(CrossScaleGraphConv(channels, embed_dim, embedding_bn_per_scale)
                              for _ in self.sources)
                for _ in self.cs_after)
        elif self.sources:
            pool = torch.cat([member_pooling(s, DESTINATION) for s in self.sources], dim=1)
            index = torch.cat([torch.arange(sum(sizes))[self.slices[s]] for s in self.sources])
            self.register_buffer("source_pool", pool, persistent=False)
            self.register_buffer("source_index", index, persistent=False)

    @torch.no_grad()
    def topology(self, fmaps, heatmaps):
        """What each graph layer's adjacency (Eq. 2-3) is made of, per scale:
        {(layer, scale): {"mask": A^m [N_s, N_s] or None, "context": A^c [B, T|1, tau, N_s, tau, N_s]
        or None}}, A^c of these clips (one matrix per window, its tau x tau frame blocks
        kept apart; Fig. 4a layers have tau = 1 and one matrix per clip)."""
        n = sum(sl.stop - sl.start for sl in self.slices.values())
        out = {}

        def observe(name, layer, inputs):
            if not isinstance(layer, GraphConvLayer):
                return
            i, nodes = next(k for k, m in enumerate(self.layers) if m is layer), inputs[0]
            mask = layer.learned_mask()
            context = None if layer.context is None else layer.context(nodes)
            if context is not None:
                tau = context.shape[-1] // n
                context = context.unflatten(-1, (tau, n)).unflatten(-3, (tau, n))
            for scale, sl in self.slices.items():
                out[i, scale] = {"mask": None if mask is None else mask[sl, sl],
                                 "context": None if context is None else context[..., sl, :, sl]}

        self(fmaps, heatmaps, observe)
        return out

    def combine(self, nodes, run, observe=None):
        """Eq. 7: V_p = X_s3 + alpha * (X_s13 + X_s23) from joint nodes [B, T, N, C]."""
        dst = nodes[:, :, self.slices[DESTINATION]]
        if not self.sources:
            return dst
        if self.cross_scale is not None:
            moved = sum(stage(observe, f"CS-GCL {s} -> {DESTINATION} (Eq. 5-6)", cs, nodes[:, :, self.slices[s]], dst)
                        for cs, s in zip(self.cross_scale[run], self.sources))
        else:
            moved = self.source_pool @ nodes[:, :, self.source_index]
        return dst + self.alpha * moved

    def run_combine(self, observe, name, nodes, run):
        """`combine` as the named stage `name`, its CS-GCLs as stages inside it."""
        return stage(observe, name, functools.partial(self.combine, run=run), nodes, nested=True)

    def forward(self, fmaps, heatmaps, observe=None):
        """observe(name, fn, inputs): called before each named stage (`graph.stages`); a graph
        layer's stage is the layer itself on its input nodes [B, T, N, C]."""
        global_feat, nodes = stage(observe, "part features V_g, V_s (Eq. 1)", self.part_features, fmaps, heatmaps)
        final = "V_p: cross-scale + Eq. 7"
        if not len(self.layers):
            return global_feat, self.run_combine(observe, final, nodes, 0)
        dst = self.slices[DESTINATION]
        for i, layer in enumerate(self.layers):
            name = f"graph layer {i + 1} (Eq. 2-4)"
            update = stage(observe, name, layer, nodes, nested=True)
            nodes = update if i == 0 else nodes + update
            if i in self.cs_after[:-1]:
                fused = self.run_combine(observe, f"V_p after layer {i + 1} (Eq. 5-7)", nodes,
                                         self.cs_after.index(i))
                nodes = torch.cat([nodes[:, :, :dst.start], fused, nodes[:, :, dst.stop:]], dim=2)
        return global_feat, self.run_combine(observe, final, nodes, len(self.cs_after) - 1)
