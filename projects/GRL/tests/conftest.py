"""Shared fixtures of the GRL tests."""
import ctl_plugin  # noqa: F401  (compat fixes before any fastreid import)

import pytest
import torch
from torch import nn


@pytest.fixture
def frozen_random():
    """Put a module in eval mode in float64 with random batch-norm statistics and affine
    parameters, so that a direct computation must reproduce every normalisation."""
    def freeze(module, seed=0):
        generator = torch.Generator().manual_seed(seed)
        module.double().eval()
        for bn in module.modules():
            if isinstance(bn, nn.modules.batchnorm._BatchNorm):
                size = bn.num_features
                bn.running_mean.copy_(torch.randn(size, generator=generator, dtype=torch.float64) * 0.3)
                bn.running_var.copy_(torch.rand(size, generator=generator, dtype=torch.float64) + 0.5)
                bn.weight.data.copy_(torch.rand(size, generator=generator, dtype=torch.float64) + 0.5)
                bn.bias.data.copy_(torch.randn(size, generator=generator, dtype=torch.float64) * 0.2)
        return module
    return freeze


@pytest.fixture
def naive_bn():
    """Batch norm of one feature vector with a module's running statistics."""
    def apply(x, bn):
        return (x - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * bn.weight + bn.bias
    return apply
