"""Training steps of the official GRL and STMN code, for side-by-side timing.

The official code is not part of this project: `train_step.py --official-grl PATH`
and `--official-stmn PATH` name checkouts of flysnowtiger/GRL and cvlab-yonsei/STMN,
whose model and loss modules are imported from there unchanged. Only what today's
torch refuses is worked around, at run time and from outside:

- GRL: `reid/models` is imported as a package of its own (the checkout's `reid/__init__`
  imports its data and evaluation code, which need tensorboardX and the data sets);
  ResNet-50 starts from random weights (no download); `OIM` is a legacy autograd
  function (instance `forward`/`backward`), so its product x V^T and its look-up-table
  update are run as one static-method function with the same forward, backward and update.
- STMN: its `parser` module reads the arguments of `train.sh`; torchvision's ResNet-50
  starts from random weights; `Tensor.cuda()` (temporal memory) is the identity on a
  machine without CUDA.

Each step is the official trainer's loss on one batch (GRL: `SEQTrainer._forward`,
STMN: the loop of `main.py`), then its backward pass.
"""
import contextlib
import importlib
import importlib.util
import os
import sys

import torch
import torch.nn.functional as F


def _package(name, folder):
    """Import `folder/__init__.py` as the package `name` (its relative imports resolve in `folder`)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, os.path.join(folder, "__init__.py"),
                                                  submodule_search_locations=[folder])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def _cuda_is_identity(device):
    """Tensor.cuda() returns the tensor itself while `device` is the CPU."""
    if torch.device(device).type == "cuda":
        yield
        return
    original = torch.Tensor.cuda
    torch.Tensor.cuda = lambda self, *args, **kwargs: self
    try:
        yield
    finally:
        torch.Tensor.cuda = original


class _OIMProduct(torch.autograd.Function):
    """The official OIM function: forward x V^T; backward grad V, then the moving-average
    update V_y <- normalise(m V_y + (1 - m) x) in sample order."""

    @staticmethod
    def forward(ctx, inputs, targets, lut, momentum):
        ctx.save_for_backward(inputs, targets)
        ctx.lut, ctx.momentum = lut, momentum
        return inputs.mm(lut.t())

    @staticmethod
    def backward(ctx, grad_outputs):
        inputs, targets = ctx.saved_tensors
        lut, momentum = ctx.lut, ctx.momentum
        grad_inputs = grad_outputs.mm(lut) if ctx.needs_input_grad[0] else None
        for x, y in zip(inputs, targets):
            lut[y] = momentum * lut[y] + (1.0 - momentum) * x
            lut[y] /= lut[y].norm()
        return grad_inputs, None, None, None


class OfficialGRL(torch.nn.Module):
    """ResNet50_GRL_Model + Siamese (attention pooling, verification) + the official
    losses: OIM on frames and on the pooled video feature (one table), OIM on the
    low-correlation feature, 20 x pair verification (BCE), soft-margin batch-hard triplet."""

    def __init__(self, checkout, num_classes, device):
        super().__init__()
        models = _package("official_grl_models", os.path.join(checkout, "reid", "models"))
        basebranch = importlib.import_module("official_grl_models.basebranch")
        resnets1 = importlib.import_module("official_grl_models.resnets1")
        basebranch.resnet50_s1 = lambda pretrained=False, **kwargs: resnets1.resnet50_s1(False, **kwargs)
        triplet = _module_from_file("official_grl_triplet", os.path.join(checkout, "reid", "loss", "triplet.py"))
        self.cnn = models.create("resnet50_grl", num_features=2048, dropout=0.0, numclasses=num_classes)
        self.siamese = models.create("siamese", input_num=2048, output_num=512, class_num=2)
        self.siamese_uncorr = models.create("siamese_video", input_num=2048, output_num=512, class_num=2)
        self.register_buffer("lut_corr", torch.zeros(num_classes, 2048))
        self.register_buffer("lut_uncorr", torch.zeros(num_classes, 2048))
        self.triplet = triplet.TripletLoss("soft", True)
        self.to(device)

    def oim(self, inputs, targets, lut):
        logits = _OIMProduct.apply(inputs, targets, lut, 0.5) * 30.0
        return F.cross_entropy(logits, targets)

    @staticmethod
    def pair_loss(scores, targets):
        """PairLoss (its module imports the checkout's evaluator): BCE on the softmax 'same'
        probability of every probe-gallery pair, labels laid out as its mask."""
        probe, gallery = targets[0::2], targets[1::2]
        same = (probe[None, :] == gallery[:, None]).float()
        return F.binary_cross_entropy(F.softmax(scores, dim=-1)[..., 1].reshape(-1), same.reshape(-1))

    def forward(self, images, targets):
        b, t = images.shape[:2]
        x_uncorr, x_corr = self.cnn(images)
        frame_targets = targets.repeat_interleave(t)
        frame_loss = self.oim(x_corr.reshape(b * t, -1), frame_targets, self.lut_corr)
        pair_targets = torch.cat((targets[0::2], targets[1::2]))
        scores, video = self.siamese(x_corr)
        video_loss = self.oim(video, pair_targets, self.lut_corr)
        triplet = self.triplet(video, pair_targets).mean()
        verification = self.pair_loss(scores, targets)
        scores_uncorr, video_uncorr = self.siamese_uncorr(x_uncorr)
        uncorr_loss = self.oim(video_uncorr, pair_targets, self.lut_uncorr)
        self.pair_loss(scores_uncorr, targets)  # computed, not added, by the official trainer
        return frame_loss + video_loss + 20 * verification + triplet + uncorr_loss


def _module_from_file(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class OfficialSTMN(torch.nn.Module):
    """network.STMN (branched ResNet-50, spatial and temporal memories, BN + classifier per
    branch) with the loss of main.py: cross-entropy and soft-margin triplet on the clip-averaged
    spatial branch and on the temporal branch, plus both memory spread losses."""

    def __init__(self, checkout, num_classes, seq_len, device):
        super().__init__()
        self.device_ = device
        source = os.path.join(checkout, "smem_tmem")
        argv = sys.argv
        sys.argv = ["main.py", "--smem_size", "10", "--smem_margin", "0.3", "--tmem_size", "5",
                    "--tmem_margin", "0.3", "--seq_len", str(seq_len)]
        sys.path[:0] = [source, checkout]
        try:
            with _cuda_is_identity(device):
                resnet = importlib.import_module("model.resnet")
                tv_resnet50 = resnet.models.resnet50
                resnet.models = type(sys)("torchvision_models_random")
                resnet.models.resnet50 = lambda pretrained=False, **kwargs: tv_resnet50(weights=None)
                network = importlib.import_module("model.network")
                loss = importlib.import_module("model.loss")
                self.net = network.STMN(2048, num_class=num_classes, stride=1)
                self.loss = loss.Loss()
        finally:
            sys.argv = argv
            del sys.path[:2]
        self.to(device)

    def forward(self, images, targets):
        with _cuda_is_identity(self.device_):
            out = self.net(images)
            losses = self.loss(out, targets)
        return (losses["track_id"] + losses["trip"] + out["smem"]["loss"]["mem_trip"].mean()
                + out["tmem"]["loss"]["mem_trip"].mean())
