"""PyTorch CPU reference for bench/engine/resnet18.ts: the same CIFAR-style ResNet-18 training step.

Architecture as the toolkit's `ResNet(depth=18, stem='cifar')` + `ClsHead(num_classes=10)`: a 3x3/1
stem convolution (64) with batch norm and ReLU, no max-pool, four stages of two basic blocks
(64, 128, 256, 512; stride 2 from the second stage, 1x1 convolution + batch norm shortcuts),
global average pooling, a linear layer. Step: forward, cross-entropy, backward, SGD (lr 0.1,
momentum 0.9, weight decay 5e-4).

Usage: /usr/bin/python3 bench/engine/resnet18_torch.py --batch 64 --steps 5 --threads 2
Prints one JSON object (bench/engine/torch_step.py): {"samples_per_s": ..., "step_ms": [...], "torch": version,
"threads": n, "params": n, ...}.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

import torch_step


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, 0, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class CifarResNet18(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU())
        layers, cin = [], 64
        for stage, width in enumerate([64, 128, 256, 512]):
            for block in range(2):
                layers.append(BasicBlock(cin, width, 2 if block == 0 and stage > 0 else 1))
                cin = width
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x):
        x = self.layers(self.stem(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


if __name__ == "__main__":
    torch_step.main(CifarResNet18)
