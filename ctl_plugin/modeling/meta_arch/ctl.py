"""`CTL`: Spatial-Temporal Correlation and Topology Learning (Liu et al., CVPR 2021)
on any fast-reid backbone, with fast-reid's heads and losses per fused branch."""
import torch
from fastreid.config import configurable
from fastreid.modeling.heads import build_heads
from fastreid.modeling.meta_arch import META_ARCH_REGISTRY

from ...config import ConfigError
from ..graph.ctl_graph import CTLGraph
from ..graph.fusion import BRANCHES, FusionBlock
from ..keypoint_source import build_keypoint_heatmaps
from ..losses.diversity import diversity_loss
from .video_baseline import VideoBaseline


@META_ARCH_REGISTRY.register()
class CTL(VideoBaseline):
    """Backbone per frame -> key-point heat-maps -> CTLGraph (Eq. 1-7) -> FusionBlock
    (Sec. 3.5) -> one fast-reid head (MODEL.HEADS) per branch g, a, c.

    Training: fast-reid's losses (MODEL.LOSSES) on each branch, suffixed with the
    branch (loss_cls_g, loss_triplet_a, ...), plus loss_div (Eq. 8) weighted by
    CTL.LOSSES.DIV_SCALE. Test: the head feature of CTL.FUSION.INFERENCE_BRANCH.
    """

    @configurable
    def __init__(self, *, graph, fusion, keypoint_heatmaps, inference_branch, div_scale, **kwargs):
        super().__init__(**kwargs)
        self.graph = graph
        self.fusion = fusion
        self.keypoint_heatmaps = keypoint_heatmaps
        self.set_inference_branch(inference_branch)
        self.div_scale = div_scale

    @classmethod
    def from_config(cls, cfg):
        base = super().from_config(cfg)  # MODEL.BACKBONE.FEAT_DIM checked against the backbone
        channels = cfg.MODEL.BACKBONE.FEAT_DIM
        base["heads"] = torch.nn.ModuleDict({b: build_heads(cfg) for b in BRANCHES})
        c = cfg.CTL
        graph = CTLGraph(
            channels, scales=c.CROSS_SCALE.SCALES, gcl_mode=c.GCL.MODE, num_layers=c.GCL.NUM_LAYERS,
            window=c.GCL.WINDOW, num_frames=cfg.VIDEO.TRAIN.SEQ_LEN, use_mask=c.TOPOLOGY.MASK,
            use_context=c.TOPOLOGY.CONTEXT, cross_scale=c.CROSS_SCALE.ENABLED,
            cs_layers=c.CROSS_SCALE.NUM_LAYERS, alpha=c.CROSS_SCALE.ALPHA,
            embed_dim=c.CROSS_SCALE.EMBED_DIM,
            embedding_bn_per_scale=c.CROSS_SCALE.EMBEDDING_BN == "per_scale")
        return dict(base, graph=graph, fusion=FusionBlock(channels, 5, c.FUSION.PART_TERM, c.FUSION.GATE_GAIN),
                    keypoint_heatmaps=build_keypoint_heatmaps(cfg),
                    inference_branch=c.FUSION.INFERENCE_BRANCH, div_scale=c.LOSSES.DIV_SCALE)

    def set_inference_branch(self, branch):
        """Test with V_f^branch (CTL.FUSION.INFERENCE_BRANCH): "g", "a" or "c"."""
        if branch not in BRANCHES:
            raise ConfigError(f"CTL.FUSION.INFERENCE_BRANCH: expected one of {BRANCHES}, got {branch!r}")
        self.inference_branch = branch

    @torch.no_grad()
    def topology(self, batched_inputs):
        """`CTLGraph.topology` of a batch of clips: {(layer, scale): {"mask", "context"}}."""
        fmaps = self.clip_feature_maps(batched_inputs)
        return self.graph.topology(fmaps, self.keypoint_heatmaps(batched_inputs, fmaps.shape[-2:]).to(fmaps.device))

    def video_head(self, fmaps, batched_inputs, targets=None):
        heatmaps = self.keypoint_heatmaps(batched_inputs, fmaps.shape[-2:]).to(fmaps.device)
        global_feat, parts = self.graph(fmaps, heatmaps)
        if not self.training:
            feat = self.fusion(global_feat, parts, (self.inference_branch,))[self.inference_branch]
            return self.heads[self.inference_branch](feat[..., None, None])
        fused = self.fusion(global_feat, parts)
        return {"branches": {b: self.heads[b](fused[b][..., None, None], targets) for b in BRANCHES},
                "parts": parts}

    def losses(self, outputs, gt_labels):
        loss_dict = {}
        for branch, out in outputs["branches"].items():
            for name, value in super().losses(out, gt_labels).items():
                loss_dict[f"{name}_{branch}"] = value
        loss_dict["loss_div"] = diversity_loss(outputs["parts"]) * self.div_scale
        return loss_dict
