"""The STMN backbone: a fast-reid ResNet, or the plugin's MobileNetV2, whose last stage is
split into three branches."""
import copy

from ctl_plugin.config import ConfigError
from ctl_plugin.modeling.backbones import MobileNetV2Backbone

from fastreid.modeling.backbones.resnet import BasicBlock, Bottleneck, ResNet
from torch import nn


class PreActivationOutput(nn.Module):
    """A fast-reid residual block without its closing ReLU, so that the map it
    outputs (a memory query) can be negative, as the official key branches do."""

    def __init__(self, block):
        super().__init__()
        if not isinstance(block, (BasicBlock, Bottleneck)):
            raise TypeError(f"expected a fast-reid BasicBlock or Bottleneck, got {type(block).__name__}")
        self.block = block

    def forward(self, x):
        b = self.block
        out = b.relu(b.bn1(b.conv1(x)))
        if isinstance(b, Bottleneck):
            out = b.relu(b.bn2(b.conv2(out)))
            out = b.bn3(b.conv3(out))
        else:
            out = b.bn2(b.conv2(out))
        out = b.se(out)
        identity = x if b.downsample is None else b.downsample(x)
        return out + identity


def resnet_stages(resnet, stem_relu=True):
    """(stem and stages 1-3, stage 4, stage 4's copy without its closing ReLU, channels).
    With `stem_relu` False the stem is conv1 - bn1 - max-pool, without the ReLU, as the
    official code runs it (STMN.STEM_RELU)."""
    if any(i >= 0 for i in resnet.NL_1_idx + resnet.NL_2_idx + resnet.NL_3_idx + resnet.NL_4_idx):
        raise ValueError("STMN's branched ResNet has no non-local blocks: set MODEL.BACKBONE.WITH_NL False")
    stem = nn.Sequential(resnet.conv1, resnet.bn1, resnet.relu if stem_relu else nn.Identity(),
                         resnet.maxpool, resnet.layer1, resnet.layer2, resnet.layer3)
    key = copy.deepcopy(resnet.layer4)
    key[-1] = PreActivationOutput(key[-1])
    last = resnet.layer4[-1]
    return stem, resnet.layer4, key, (last.bn3 if isinstance(last, Bottleneck) else last.bn2).num_features


def mobilenet_stages(net):
    """(features.0-13, features.14-18, their copy without the closing ReLU6, channels)."""
    stem, last = net.split()
    key = copy.deepcopy(last)
    key[-1][-1] = nn.Identity()  # features.18 is conv 1x1, BN, ReLU6
    return stem, last, key, net.out_channels


class BranchedBackbone(nn.Module):
    """Shared stem, then three copies of the last stage (Sec. 3.1): the value branch
    (person representation f^o), the spatial-key branch (queries of the spatial
    memory) and the temporal-key branch (input of the temporal memory's LSTM). The key
    branches start from the value branch's weights, so ImageNet weights initialise all
    three. Backbones: fast-reid's ResNet (`build_resnet_backbone`) and the plugin's
    `build_torchvision_mobilenetv2_backbone`.
    `stem_relu` (STMN.STEM_RELU) applies to the ResNet's stem only.
    """

    def __init__(self, backbone, stem_relu=True):
        super().__init__()
        if isinstance(backbone, ResNet):
            stem, last, key, channels = resnet_stages(backbone, stem_relu)
        elif isinstance(backbone, MobileNetV2Backbone):
            if not stem_relu:
                raise ConfigError("STMN.STEM_RELU False drops the ReLU of a ResNet's stem; the MobileNetV2 "
                                  "has no such stem: keep STMN.STEM_RELU True")
            stem, last, key, channels = mobilenet_stages(backbone)
        else:
            raise TypeError(f"STMN needs a fast-reid ResNet (MODEL.BACKBONE.NAME build_resnet_backbone) or "
                            f"the plugin's MobileNetV2 (build_torchvision_mobilenetv2_backbone), "
                            f"got {type(backbone).__name__}")
        self.stem = stem
        self.value_branch = last
        self.spatial_key_branch = key
        self.temporal_key_branch = copy.deepcopy(key)
        self.out_channels = channels

    def forward(self, images):
        """images [N, 3, H, W] -> (values, spatial keys, temporal keys), each [N, C, h, w]."""
        x = self.stem(images)
        return self.value_branch(x), self.spatial_key_branch(x), self.temporal_key_branch(x)
