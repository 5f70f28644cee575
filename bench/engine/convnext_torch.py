"""PyTorch CPU reference for `bench/engine/models.ts --model convnext-t`: torchvision's ConvNeXt-T
(torchvision.models.convnext_tiny's architecture, random weights), which the toolkit's ConvNeXt
(src/models/backbones/convnext.ts) loads weight for weight (test/weights/torchParity.test.ts).

A 4x4/4 stem convolution and LayerNorm; stages of 3, 3, 9 and 3 blocks, 96, 192, 384 and 768 wide
(a 7x7 depthwise convolution with bias, LayerNorm eps 1e-6 over the channels, Linear to 4x, the
exact GELU, Linear back, a per-channel layer scale started at 1e-6, stochastic depth growing
linearly from 0 to 0.1 over the blocks); LayerNorm and a 2x2/2 convolution between stages; global
average pooling, LayerNorm, a linear layer to 10 classes. Step: bench/engine/torch_step.py.

Usage: /usr/bin/python3 bench/engine/convnext_torch.py --batch 64 --steps 5 --threads 2 --size 64
"""
from torchvision.models.convnext import CNBlockConfig, ConvNeXt

import torch_step

STAGES = [CNBlockConfig(96, 192, 3), CNBlockConfig(192, 384, 3), CNBlockConfig(384, 768, 9), CNBlockConfig(768, None, 3)]

if __name__ == "__main__":
    torch_step.main(lambda: ConvNeXt(STAGES, stochastic_depth_prob=0.1, num_classes=10))
