"""PyTorch CPU reference for `bench/engine/models.ts --model mobilenetv2`: the toolkit's MobileNetV2
(src/models/backbones/mobilenetV2.ts) with its ClsHead, layer for layer.

`MobileNetV2(width_mult=1, stem_stride=1)` + `ClsHead(num_classes=10)`: a 3x3 stem convolution (32,
stride 1 so that 32x32 images keep 2x2 maps at the end) with batch norm and ReLU6; seven groups of
inverted residual blocks (expansion t, channels c, repeats n, first stride s as in Table 2 of the
paper): 1x1 expansion + BN + ReLU6 (left out when t = 1), 3x3 depthwise + BN + ReLU6, 1x1 linear
projection + BN, an identity shortcut when the stride is 1 and the channels stay; a 1x1 convolution
to 1280 with BN and ReLU6; global average pooling; a linear layer (no dropout: the head's default).
Batch norm: eps 1e-5, momentum 0.1; convolutions without biases. Step: bench/engine/torch_step.py.

Usage: /usr/bin/python3 bench/engine/mobilenetv2_torch.py --batch 64 --steps 5 --threads 2
"""
import torch.nn as nn

import torch_step

# Expansion t, output channels c, repeats n, first stride s.
SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


def make_divisible(v, divisor=8):
    """Channels rounded to a multiple of 8, never dropping more than 10% (as the toolkit's makeDivisible)."""
    rounded = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * v else rounded


def conv_bn_act(cin, cout, k, stride=1, groups=1, act=True):
    layers = [nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    if act:
        layers.append(nn.ReLU6())
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = round(cin * expand)
        layers = [conv_bn_act(cin, hidden, 1)] if expand != 1 else []
        layers.append(conv_bn_act(hidden, hidden, 3, stride, groups=hidden))
        layers.append(conv_bn_act(hidden, cout, 1, act=False))
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.conv(x)
        return x + y if self.residual else y


class MobileNetV2(nn.Module):
    def __init__(self, num_classes=10, width_mult=1.0, stem_stride=1):
        super().__init__()
        cin = make_divisible(32 * width_mult)
        layers = [conv_bn_act(3, cin, 3, stem_stride)]
        for t, c, n, s in SETTINGS:
            cout = make_divisible(c * width_mult)
            for b in range(n):
                layers.append(InvertedResidual(cin, cout, s if b == 0 else 1, t))
                cin = cout
        last = make_divisible(1280 * max(1.0, width_mult))
        layers.append(conv_bn_act(cin, last, 1))
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(last, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        return self.fc(self.features(x).mean((2, 3)))


if __name__ == "__main__":
    torch_step.main(MobileNetV2)
