"""The STMN backbone: a fast-reid ResNet whose last stage is split into three branches."""
import copy

from torch import nn
from fastreid.modeling.backbones.resnet import BasicBlock, Bottleneck, ResNet


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


def key_branch(stage):
    """A copy of a ResNet stage (weights included) whose last block has no closing ReLU."""
    blocks = copy.deepcopy(stage)
    blocks[-1] = PreActivationOutput(blocks[-1])
    return blocks


class BranchedResNet(nn.Module):
    """Shared stem and stages 1-3, then three copies of stage 4 (Sec. 3.1):
    the value branch (person representation f^o), the spatial-key branch (queries
    of the spatial memory) and the temporal-key branch (input of the temporal
    memory's LSTM). The key branches start from the value branch's weights, so an
    ImageNet-pretrained `MODEL.BACKBONE.PRETRAIN_PATH` initialises all three.
    With `stem_relu` False the stem is conv1 - bn1 - max-pool, without the ReLU, as
    the official code runs it (STMN.STEM_RELU).
    """

    def __init__(self, resnet, stem_relu=True):
        super().__init__()
        if not isinstance(resnet, ResNet):
            raise TypeError(f"STMN needs a fast-reid ResNet (MODEL.BACKBONE.NAME build_resnet_backbone), "
                            f"got {type(resnet).__name__}")
        if any(i >= 0 for i in resnet.NL_1_idx + resnet.NL_2_idx + resnet.NL_3_idx + resnet.NL_4_idx):
            raise ValueError("STMN's branched ResNet has no non-local blocks: set MODEL.BACKBONE.WITH_NL False")
        self.stem = nn.Sequential(resnet.conv1, resnet.bn1, resnet.relu if stem_relu else nn.Identity(),
                                  resnet.maxpool, resnet.layer1, resnet.layer2, resnet.layer3)
        self.value_branch = resnet.layer4
        self.spatial_key_branch = key_branch(resnet.layer4)
        self.temporal_key_branch = key_branch(resnet.layer4)
        last = resnet.layer4[-1]
        self.out_channels = (last.bn3 if isinstance(last, Bottleneck) else last.bn2).num_features

    def forward(self, images):
        """images [N, 3, H, W] -> (values, spatial keys, temporal keys), each [N, C, h, w]."""
        x = self.stem(images)
        return self.value_branch(x), self.spatial_key_branch(x), self.temporal_key_branch(x)
