"""BiT ResNet-v2 (GroupNorm + weight-standardised convs, pre-activation bottlenecks) in plain PyTorch under
timm's resnetv2 parameter names, with BitActors' architecture table (src/Model/Architecture/ResNetV2Config.cs).

Shared by bench/peers/bit_train.py (the training peer of `bitactors bench train --peer`) and
tests/Cli.Tests/Python/timm_resnetv2.py (the inference peer of the interop tests). Needs python3-torch only.
"""
import torch.nn.functional as F
from torch import nn

# name: (units per stage, width factor, base width, GroupNorm groups)
ARCHS = {
    "R50x1": ([3, 4, 6, 3], 1, 64, 32),
    "R50x3": ([3, 4, 6, 3], 3, 64, 32),
    "R101x1": ([3, 4, 23, 3], 1, 64, 32),
    "R101x3": ([3, 4, 23, 3], 3, 64, 32),
    "R152x2": ([3, 8, 36, 3], 2, 64, 32),
    "R152x4": ([3, 8, 36, 3], 4, 64, 32),
    "Tiny": ([1, 1, 1, 1], 1, 16, 8),
    "Small": ([2, 2, 2, 2], 1, 32, 16),
}

# Weight standardisation eps as BiT uses it (timm's StdConv2d uses 1e-8; the difference is far below 1e-4 here).
WS_EPS = 1e-10
GN_EPS = 1e-5


class StdConv2d(nn.Conv2d):
    """Bias-free conv whose kernel is standardised per output channel: (w - mean) / sqrt(biased var + eps)."""

    def __init__(self, cin, cout, kernel, stride=1, padding=0, standardize=True):
        super().__init__(cin, cout, kernel, stride=stride, padding=padding, bias=False)
        self.standardize = standardize

    def forward(self, x):
        w = self.weight
        if self.standardize:
            # One batch-norm over the kernel viewed as [1, out, in*k*k] (timm's StdConv2d, and BitActors'): the same
            # (w - mean) / sqrt(biased var + eps), faster on CPU than var_mean and three element-wise ops.
            w = F.batch_norm(w.reshape(1, w.shape[0], -1), None, None, training=True, momentum=0.0, eps=WS_EPS).reshape_as(w)
        return F.conv2d(x, w, None, self.stride, self.padding)


class Downsample(nn.Module):
    def __init__(self, cin, cout, stride, ws):
        super().__init__()
        self.conv = StdConv2d(cin, cout, 1, stride=stride, standardize=ws)

    def forward(self, x):
        return self.conv(x)


class Bottleneck(nn.Module):
    """Pre-activation bottleneck: norm -> relu -> conv three times, stride on the 3x3, projection of the pre-activation."""

    def __init__(self, cin, cout, mid, stride, groups, ws):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin, eps=GN_EPS)
        self.conv1 = StdConv2d(cin, mid, 1, standardize=ws)
        self.norm2 = nn.GroupNorm(groups, mid, eps=GN_EPS)
        self.conv2 = StdConv2d(mid, mid, 3, stride=stride, padding=1, standardize=ws)
        self.norm3 = nn.GroupNorm(groups, mid, eps=GN_EPS)
        self.conv3 = StdConv2d(mid, cout, 1, standardize=ws)
        self.downsample = Downsample(cin, cout, stride, ws) if stride != 1 or cin != cout else None

    def forward(self, x):
        pre = F.relu(self.norm1(x))
        shortcut = x if self.downsample is None else self.downsample(pre)
        y = self.conv1(pre)
        y = self.conv2(F.relu(self.norm2(y)))
        y = self.conv3(F.relu(self.norm3(y)))
        return y + shortcut


class Stage(nn.Module):
    def __init__(self, blocks):
        super().__init__()
        self.blocks = nn.Sequential(*blocks)

    def forward(self, x):
        return self.blocks(x)


class Stem(nn.Module):
    """7x7/2 conv (pad 3), zero pad 1, 3x3/2 max-pool without padding."""

    def __init__(self, cin, cout, ws):
        super().__init__()
        self.conv = StdConv2d(cin, cout, 7, stride=2, padding=3, standardize=ws)

    def forward(self, x):
        x = F.pad(self.conv(x), (1, 1, 1, 1), value=0.0)
        return F.max_pool2d(x, kernel_size=3, stride=2)


class Head(nn.Module):
    def __init__(self, cin, classes):
        super().__init__()
        self.fc = nn.Conv2d(cin, classes, 1, bias=True)

    def forward(self, x):
        return self.fc(x).flatten(1)


class ResNetV2(nn.Module):
    def __init__(self, units, width, base, groups, classes, channels, ws=True):
        super().__init__()
        self.stem = Stem(channels, base * width, ws)
        stages, cin = [], base * width
        for s, n in enumerate(units):
            mid = base * width * 2 ** s
            blocks = []
            for u in range(n):
                blocks.append(Bottleneck(cin, 4 * mid, mid, 2 if s > 0 and u == 0 else 1, groups, ws))
                cin = 4 * mid
            stages.append(Stage(blocks))
        self.stages = nn.Sequential(*stages)
        self.norm = nn.GroupNorm(groups, cin, eps=GN_EPS)
        self.head = Head(cin, classes)

    def forward(self, x):
        x = self.stages(self.stem(x))
        x = F.relu(self.norm(x)).mean(dim=(2, 3), keepdim=True)
        return self.head(x)
