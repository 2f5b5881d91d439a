"""CTL as a fast-reid model: losses by name, tracklet features, gradients, ablation
switches, other backbones, and the key-point source."""
from ctl_plugin.config import ConfigError, build_cfg
from ctl_plugin.modeling.graph.ctl_graph import CTLGraph
from ctl_plugin.modeling.keypoint_source import KeypointHeatmaps

import pytest
import torch
from fastreid.modeling.meta_arch import build_model
from fastreid.utils.events import EventStorage

H, W, T = 64, 32, 4
OSNET = dict(NAME="build_osnet_backbone", DEPTH="x0_25", FEAT_DIM=128)


def tiny_cfg(**backbone):
    cfg = build_cfg()
    cfg.MODEL.META_ARCHITECTURE = "CTL"
    cfg.MODEL.DEVICE = "cpu"
    cfg.MODEL.BACKBONE.NAME = "build_resnet_backbone"
    cfg.MODEL.BACKBONE.DEPTH = "18x"
    cfg.MODEL.BACKBONE.PRETRAIN = False
    cfg.MODEL.BACKBONE.FEAT_DIM = 512
    for k, v in backbone.items():
        setattr(cfg.MODEL.BACKBONE, k, v)
    cfg.MODEL.HEADS.NUM_CLASSES = 3
    cfg.MODEL.HEADS.WITH_BNNECK = True
    cfg.MODEL.LOSSES.NAME = ("CrossEntropyLoss", "TripletLoss")
    cfg.MODEL.LOSSES.CE.EPSILON = 0.1
    cfg.MODEL.LOSSES.TRI.HARD_MINING = True
    cfg.INPUT.SIZE_TRAIN = [H, W]
    cfg.VIDEO.TRAIN.SEQ_LEN = T
    cfg.KEYPOINTS.SOURCE = "cache"
    cfg.CTL.CROSS_SCALE.EMBED_DIM = 8
    return cfg


def batch(b=4, clips=None):
    n = b if clips is None else int(sum(clips))
    g = torch.Generator().manual_seed(1)
    out = {"images": torch.rand(n, T, 3, H, W, generator=g) * 255,
           "targets": torch.arange(n) // 2,
           "keypoints": torch.rand(n, T, 17, 3, generator=g) * torch.tensor([W, H, 1.0])}
    if clips is not None:
        out["num_clips"] = torch.tensor(clips)
    return out


def train_losses(model, inputs):
    model.train()
    with EventStorage():
        return model(inputs)


LOSS_NAMES = {f"loss_{k}_{b}" for k in ("cls", "triplet") for b in "gac"} | {"loss_div"}


@pytest.mark.parametrize("backbone", [
    dict(),
    dict(NAME="build_resnet_backbone", WITH_IBN=True),
    dict(LAST_STRIDE=2),  # half the paper's maps: the heat maps follow the maps' size
    OSNET,
])
def test_full_model_train_and_eval_on_several_backbones(backbone):
    model = build_model(tiny_cfg(**backbone))
    losses = train_losses(model, batch())
    assert set(losses) == LOSS_NAMES
    assert all(torch.isfinite(v) and v.dim() == 0 for v in losses.values())
    model.eval()
    with torch.no_grad():
        feats = model(batch(clips=[1, 3, 2]))
        single = model({k: v[1:4] for k, v in batch(clips=[1, 3, 2]).items() if k != "num_clips"})
    channels = model.fusion.channels
    assert feats.shape == (3, channels)
    assert torch.allclose(feats[1], single.mean(0), atol=1e-4)  # mean of its three clip features


def test_gradients_reach_every_learnable_part_and_mask_starts_at_zero():
    cfg = tiny_cfg(**OSNET)
    cfg.CTL.CROSS_SCALE.NUM_LAYERS = 2
    model = build_model(cfg)
    for layer in model.graph.layers:
        assert torch.count_nonzero(layer.mask) == 0
    sum(train_losses(model, batch()).values()).backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and not n.startswith("backbone.")
               and (p.grad is None or not torch.any(p.grad != 0))]
    assert missing == [], missing
    assert any(n.startswith("graph.layers.1.mask") for n, _ in model.named_parameters())


def test_eval_uses_the_configured_branch():
    cfg = tiny_cfg(**OSNET)
    cfg.CTL.FUSION.INFERENCE_BRANCH = "g"
    model = build_model(cfg).eval()
    inputs = batch(clips=[2, 2])
    with torch.no_grad():
        feats = model(inputs)
        fmaps = model.frame_features(model.preprocess_image(inputs))
        want = model.heads["g"](fmaps.mean((1, 3, 4))[..., None, None])
    assert torch.allclose(feats, want.view(2, 2, -1).mean(1), atol=1e-4)
    cfg.CTL.FUSION.INFERENCE_BRANCH = "x"
    with pytest.raises(ValueError, match="INFERENCE_BRANCH"):
        build_model(cfg)


def head_inputs(b=2, c=6):
    g = torch.Generator().manual_seed(2)
    heat = torch.softmax(torch.randn(b, T, 17, 8, generator=g), -1).view(b, T, 17, 4, 2)
    return torch.randn(b, T, c, 4, 2, generator=g), heat


def make_head(**kw):
    torch.manual_seed(0)
    args = dict(scales=("s3", "s1", "s2"), num_frames=T, embed_dim=4)
    args.update(kw)
    return CTLGraph(6, **args).eval()


def copy_shared(src, dst):
    missing, _ = dst.load_state_dict(src.state_dict(), strict=False)
    assert not missing
    return dst


def test_mask_switch_changes_only_the_mask_term():
    full, no_mask = make_head(), make_head(use_mask=False)
    assert all(layer.mask is None for layer in no_mask.layers)
    copy_shared(full, no_mask)
    x = head_inputs()
    assert torch.allclose(full(*x)[1], no_mask(*x)[1], atol=1e-5)  # A^m = 0 at init
    with torch.no_grad():
        full.layers[0].mask.fill_(0.5)
    assert not torch.allclose(full(*x)[1], no_mask(*x)[1], atol=1e-3)


def test_context_switch_changes_only_the_context_term():
    full, no_ctx = make_head(), make_head(use_context=False)
    copy_shared(full, no_ctx)
    nodes = torch.randn(2, T, 32, 6)
    a_full, a_no = full.layers[0].adjacency(nodes), no_ctx.layers[0].adjacency(nodes)
    assert torch.allclose(a_full - a_no, full.layers[0].context(nodes), atol=1e-6)
    assert no_ctx.layers[0].context is None


def test_cross_scale_switch_changes_only_the_moved_term():
    with_cs, without = make_head(alpha=0.0), make_head(cross_scale=False, alpha=0.0)
    copy_shared(with_cs, without)  # the CS-GCL weights are the only extra ones
    x = head_inputs()
    assert torch.allclose(with_cs(*x)[1], without(*x)[1], atol=1e-5)
    with_cs.alpha = without.alpha = 0.3
    assert not torch.allclose(with_cs(*x)[1], without(*x)[1], atol=1e-3)


@pytest.mark.parametrize("scales,nodes", [(("s3",), 5), (("s3", "s1"), 22), (("s3", "s1", "s2"), 32)])
def test_scale_switch_selects_the_graph_nodes(scales, nodes):
    head = make_head(scales=scales)
    assert head.layers[0].num_nodes == nodes
    assert len(head.cross_scale[0]) == len(scales) - 1
    vg, vp = head(*head_inputs())
    assert vp.shape == (2, T, 5, 6)


def test_layer_window_mode_and_m_switches():
    assert len(make_head(num_layers=3).layers) == 3
    for tau in (1, 3, 5):
        assert make_head(window=tau).layers[0].static.shape == (tau * 32, tau * 32)
    frame = make_head(gcl_mode="frame")
    assert frame.layers[0].static.shape == (32, 32) and not hasattr(frame.layers[0], "collapse")
    assert len(make_head(gcl_mode="none").layers) == 0
    two = make_head(cs_layers=2)
    assert len(two.cross_scale) == 2
    one = copy_shared(two, make_head(cs_layers=1))
    assert not torch.allclose(two(*head_inputs())[1], one(*head_inputs())[1], atol=1e-3)
    with pytest.raises(ValueError, match="CTL.CROSS_SCALE.NUM_LAYERS"):
        make_head(cs_layers=2, num_layers=1)
    with pytest.raises(ValueError, match="CTL.GCL.MODE"):
        make_head(gcl_mode="2d")
    with pytest.raises(ValueError, match="CTL.CROSS_SCALE.SCALES"):
        make_head(scales=("s1", "s2"))


def test_keypoint_source_errors_and_online_branch():
    with pytest.raises(ValueError, match="KEYPOINTS.SOURCE"):
        KeypointHeatmaps("none")
    with pytest.raises(ValueError, match="estimator"):
        KeypointHeatmaps("online")
    inputs = batch(b=2)
    with pytest.raises(ConfigError, match="keypoints"):
        KeypointHeatmaps("cache")({"images": inputs["images"]}, (4, 2))
    with pytest.raises(ValueError, match=r"\[B, T, 17, 3\]"):
        KeypointHeatmaps("cache")({"images": inputs["images"], "keypoints": inputs["keypoints"][:, :2]}, (4, 2))

    class Fixed(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = torch.nn.Parameter(torch.ones(()))

        def forward(self, clips, feature_size):
            return self.scale * torch.ones(clips.shape[0], clips.shape[1], 17, *feature_size)

    heat = KeypointHeatmaps("online", estimator=Fixed())(inputs, (4, 2))
    assert heat.shape == (2, T, 17, 4, 2)
    assert torch.allclose(heat, torch.full_like(heat, 1 / 8))
    cached = KeypointHeatmaps("cache")(inputs, (4, 2))
    assert torch.allclose(cached.sum((-2, -1)), torch.ones(2, T, 17), atol=1e-5)


def test_model_stats_counts_ctl_and_baseline():
    import importlib.util
    import pathlib
    path = pathlib.Path(__file__).resolve().parents[2] / "tools" / "model_stats.py"
    spec = importlib.util.spec_from_file_location("model_stats", path)
    stats = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stats)
    cfg = tiny_cfg(**OSNET)
    cfg.INPUT.SIZE_TEST = [H, W]
    cfg.VIDEO.TEST.SEQ_LEN = T
    ctl = stats.model_stats(cfg)
    cfg.MODEL.META_ARCHITECTURE = "VideoBaseline"
    cfg.MODEL.BACKBONE.FEAT_DIM = 128  # OSNet x0_25; VideoBaseline's head reads it from the config
    base = stats.model_stats(cfg)
    assert ctl["params"] > base["params"] > 0 and ctl["flops"] > base["flops"] > 0


ABLATION_ROWS = {  # docs/ctl.md, "Ablations as config keys"
    "basel": ["CTL.GCL.MODE", "none", "CTL.CROSS_SCALE.ENABLED", False],
    "contre": ["CTL.GCL.MODE", "frame", "CTL.CROSS_SCALE.ENABLED", False],
    "3d": ["CTL.CROSS_SCALE.ENABLED", False],
    "ap": ["CTL.TOPOLOGY.MASK", False, "CTL.TOPOLOGY.CONTEXT", False],
    "apam": ["CTL.TOPOLOGY.CONTEXT", False],
    "m2": ["CTL.CROSS_SCALE.NUM_LAYERS", 2],
    "s3": ["CTL.CROSS_SCALE.SCALES", ("s3",)],
    "s3s1": ["CTL.CROSS_SCALE.SCALES", ("s3", "s1")],
    "l1": ["CTL.GCL.NUM_LAYERS", 1],
    "l3": ["CTL.GCL.NUM_LAYERS", 3],
    "tau1": ["CTL.GCL.WINDOW", 1],
    "tau5": ["CTL.GCL.WINDOW", 5],
}


@pytest.mark.parametrize("row", sorted(ABLATION_ROWS))
def test_every_ablation_row_builds_from_keys_and_runs(row):
    cfg = tiny_cfg(**OSNET)
    cfg.merge_from_list(ABLATION_ROWS[row])
    model = build_model(cfg).eval()
    with torch.no_grad():
        assert model(batch(clips=[1, 1])).shape == (2, model.fusion.channels)


def test_ctl_with_online_mmpose_keypoints():
    """KEYPOINTS.SOURCE online: the frozen HRNet estimator inside CTL, no cached key-points."""
    cfg = tiny_cfg()
    cfg.KEYPOINTS.SOURCE = "online"
    cfg.KEYPOINTS.MMPOSE.CHECKPOINT = "random"
    cfg.KEYPOINTS.MMPOSE.INPUT_SIZE = [64, 32]
    model = build_model(cfg)
    estimator = model.keypoint_heatmaps.estimator
    inputs = batch(b=4)
    del inputs["keypoints"]
    losses = train_losses(model, inputs)
    assert set(losses) == LOSS_NAMES and all(torch.isfinite(v) for v in losses.values())
    assert not estimator.training and all(not p.requires_grad for p in estimator.parameters())
    sum(losses.values()).backward()
    assert all(p.grad is None for p in estimator.parameters())
    model.eval()
    with torch.no_grad():
        feats = model({"images": inputs["images"][:3], "num_clips": torch.tensor([1, 2])})
    assert feats.shape[0] == 2 and torch.isfinite(feats).all()


@pytest.mark.parametrize("arch", ["VideoBaseline", "CTL", "GRL", "STMN"])
def test_one_rule_for_the_backbone_width(arch):
    """Every video model checks MODEL.BACKBONE.FEAT_DIM against its backbone's measured width."""
    cfg = tiny_cfg(NAME="build_resnet_backbone", FEAT_DIM=2048)
    cfg.MODEL.META_ARCHITECTURE = arch
    cfg.VIDEO.TEST.SEQ_LEN = cfg.VIDEO.TRAIN.SEQ_LEN  # STMN's temporal memory
    if arch == "GRL":
        cfg.MODEL.HEADS.NAME = "GRLHead"
    with pytest.raises(ConfigError, match=r"MODEL.BACKBONE.FEAT_DIM is 2048, but build_resnet_backbone \(DEPTH 18x\) "
                                          r"gives feature maps of 512 channels: set MODEL.BACKBONE.FEAT_DIM 512"):
        build_model(cfg)
    cfg.MODEL.BACKBONE.FEAT_DIM = 512
    assert build_model(cfg).backbone is not None


def test_the_graph_heads_stages_are_named_and_recompute_what_the_forward_computed():
    """`graph.stages`: what bench/ctl_breakdown.py times is the forward's own stages, on the
    forward's own inputs."""
    graph = build_model(tiny_cfg()).graph.eval()
    g = torch.Generator().manual_seed(0)
    fmaps, heatmaps = torch.rand(2, T, 512, 4, 2, generator=g), torch.rand(2, T, 17, 4, 2, generator=g)
    seen = []
    with torch.no_grad():
        out = graph(fmaps, heatmaps, lambda name, fn, inputs: seen.append((name, fn, inputs)))
        plain = graph(fmaps, heatmaps)
        redone = {name: fn(*inputs) for name, fn, inputs in seen}
    layer = ["context block A^c (Fig. 4)", "adjacency, D^-1/2 Â D^-1/2 (Eq. 3-4)", "X W (Eq. 4)",
             "ReLU(Â X^(tau) W) over windows (Eq. 3-4)", "window collapse (tau C -> C) + BN + ReLU"]
    final = "V_p: cross-scale + Eq. 7"
    assert [name for name, _, _ in seen] == [
        "part features V_g, V_s (Eq. 1)",
        "graph layer 1 (Eq. 2-4)", *(f"graph layer 1 (Eq. 2-4) > {n}" for n in layer),
        "graph layer 2 (Eq. 2-4)", *(f"graph layer 2 (Eq. 2-4) > {n}" for n in layer),
        final, f"{final} > CS-GCL s1 -> s3 (Eq. 5-6)", f"{final} > CS-GCL s2 -> s3 (Eq. 5-6)"]
    assert all(torch.equal(a, b) for a, b in zip(out, plain))  # observing changes nothing
    assert torch.equal(redone[final], out[1]) and torch.equal(redone["part features V_g, V_s (Eq. 1)"][0], out[0])
    assert redone["graph layer 2 (Eq. 2-4)"].shape == seen[7][2][0].shape  # [B, T, N, C] -> [B, T, N, C]
