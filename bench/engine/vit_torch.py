"""PyTorch CPU reference for `bench/engine/models.ts --model vit-s`: the toolkit's VisionTransformer
(src/models/backbones/visionTransformer.ts, src/models/nn/attention.ts) with its ClsHead, layer
for layer.

`VisionTransformer(arch='small', img_size=32, patch_size=4)` + `ClsHead(num_classes=10)`: a 4x4/4
patch convolution (with bias) to 384 wide tokens (8x8 = 64) plus position embeddings, a class
token with its own position embedding in front, 12 pre-norm blocks (LayerNorm eps 1e-6;
6-head self-attention with a query/key/value bias and scores scaled by 1/sqrt(64); an MLP of
1536 with the exact, erf-based GELU; stochastic depth growing linearly from 0 to 0.1 over the
blocks, one Bernoulli draw per sample and branch), a final LayerNorm, the class token's feature to
a linear layer. Step: bench/engine/torch_step.py.

Usage: /usr/bin/python3 bench/engine/vit_torch.py --batch 64 --steps 5 --threads 2
"""
import torch
import torch.nn as nn

import torch_step


def drop_path(x, rate, training):
    """Stochastic depth: zero a sample's branch with probability `rate`, scale the kept ones by 1/(1 - rate)."""
    if not training or rate == 0:
        return x
    keep = 1 - rate
    mask = (torch.rand(x.shape[0], *([1] * (x.dim() - 1))) < keep).to(x.dtype) / keep
    return x * mask


class Attention(nn.Module):
    def __init__(self, dim, heads, qkv_bias=True):
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4).unbind(0)
        attn = ((q @ k.transpose(-2, -1)) * self.head_dim ** -0.5).softmax(-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, c))


class Block(nn.Module):
    def __init__(self, dim, heads, mlp_ratio, qkv_bias, drop_path_rate):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads, qkv_bias)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        hidden = round(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))
        self.drop_path_rate = drop_path_rate

    def forward(self, x):
        x = x + drop_path(self.attn(self.norm1(x)), self.drop_path_rate, self.training)
        return x + drop_path(self.mlp(self.norm2(x)), self.drop_path_rate, self.training)


class VisionTransformer(nn.Module):
    def __init__(self, num_classes=10, img_size=32, patch_size=4, dim=384, depth=12, heads=6, mlp_ratio=4, qkv_bias=True, drop_path_rate=0.1):
        super().__init__()
        grid = img_size // patch_size
        self.patch_embed = nn.Conv2d(3, dim, patch_size, patch_size, bias=True)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, grid * grid + 1, dim))
        rates = [drop_path_rate * i / (depth - 1) if depth > 1 else 0 for i in range(depth)]
        self.blocks = nn.Sequential(*[Block(dim, heads, mlp_ratio, qkv_bias, r) for r in rates])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.fc = nn.Linear(dim, num_classes)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.kaiming_normal_(self.patch_embed.weight, mode="fan_out", nonlinearity="relu")
        nn.init.zeros_(self.patch_embed.bias)
        for block in self.blocks:
            for m in block.modules():
                if isinstance(m, nn.Linear):
                    nn.init.trunc_normal_(m.weight, std=0.02)
                    nn.init.zeros_(m.bias)

    def forward(self, x):
        patches = self.patch_embed(x).flatten(2).transpose(1, 2) + self.pos_embed[:, 1:]
        cls = (self.cls_token + self.pos_embed[:, :1]).expand(x.shape[0], -1, -1)
        tokens = self.norm(self.blocks(torch.cat([cls, patches], 1)))
        return self.fc(tokens[:, 0])


if __name__ == "__main__":
    torch_step.main(VisionTransformer)
