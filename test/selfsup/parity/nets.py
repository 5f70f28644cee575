"""PyTorch twins of the toolkit's ResNet (CIFAR stem) and NonLinearNeck, with the toolkit's parameter
names, and the exchange of tensors with test/selfsup/parity.test.ts (the toolkit's layouts: NHWC
images, HWIO convolution kernels, [in, out] linear weights).

Files in the exchange folder: <name>.json (a manifest: [{name, shape, offset}]) and <name>.f32 (the
tensors' float32 values, little-endian, one after another)."""
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'bench', 'engine'))
from resnet18_torch import BasicBlock  # noqa: E402  (the toolkit's basic block, its names too)

torch.set_default_dtype(torch.float64)


def read_tensors(folder, name):
    with open(os.path.join(folder, name + '.json')) as f:
        manifest = json.load(f)
    data = np.fromfile(os.path.join(folder, name + '.f32'), dtype='<f4')
    out = {}
    for e in manifest:
        n = int(np.prod(e['shape'])) if e['shape'] else 1
        out[e['name']] = torch.from_numpy(data[e['offset']:e['offset'] + n].astype(np.float64)).reshape(e['shape'])
    return out


def write_tensors(folder, name, tensors):
    manifest, chunks, offset = [], [], 0
    for k, t in tensors.items():
        a = t.detach().double().cpu().numpy().astype('<f4').ravel()
        manifest.append({'name': k, 'shape': list(t.shape), 'offset': offset})
        chunks.append(a)
        offset += a.size
    with open(os.path.join(folder, name + '.json'), 'w') as f:
        json.dump(manifest, f)
    np.concatenate(chunks or [np.zeros(0, '<f4')]).tofile(os.path.join(folder, name + '.f32'))


def from_toolkit(name, t):
    """A toolkit tensor in PyTorch's layout (kernels HWIO -> OIHW, linear [in, out] -> [out, in])."""
    if name.endswith('weight') and t.dim() == 4:
        return t.permute(3, 2, 0, 1).contiguous()
    if name.endswith('weight') and t.dim() == 2:
        return t.t().contiguous()
    return t


def to_toolkit(name, t):
    if name.endswith('weight') and t.dim() == 4:
        return t.permute(2, 3, 1, 0).contiguous()
    if name.endswith('weight') and t.dim() == 2:
        return t.t().contiguous()
    return t


def images(t):
    """NHWC views -> NCHW."""
    return t.permute(0, 3, 1, 2).contiguous()


def load(module, state, prefix):
    """Load `module` from the toolkit state under `prefix` (e.g. 'backbone.')."""
    own = module.state_dict()
    new = {}
    for k, v in own.items():
        if k.endswith('num_batches_tracked'):
            new[k] = v
            continue
        src = state[prefix + k]
        new[k] = from_toolkit(k, src).reshape(v.shape)
    module.load_state_dict(new)


def dump(module, prefix, out):
    """Parameters and buffers of `module` in the toolkit's layout, under `prefix`."""
    for k, v in module.state_dict().items():
        if not k.endswith('num_batches_tracked'):
            out[prefix + k] = to_toolkit(k, v)


def grads(module, prefix, out):
    for k, p in module.named_parameters():
        if p.requires_grad:  # a frozen parameter (MAE's pos_embed) has no gradient to compare
            out[prefix + k] = to_toolkit(k, p.grad if p.grad is not None else torch.zeros_like(p))


class ConvBn(nn.Module):
    def __init__(self, cin, cout, k, stride, padding):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, padding, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class ResNet18(nn.Module):
    """torchvision's ResNet-18 with the CIFAR stem (one 3x3/1 convolution, no max-pool) and a base width."""

    def __init__(self, in_channels, width):
        super().__init__()
        self.stem = nn.Sequential(ConvBn(in_channels, width, 3, 1, 1))
        cin = width
        for s in range(4):
            w = width * 2 ** s
            blocks = []
            for b in range(2):
                blocks.append(BasicBlock(cin, w, 2 if b == 0 and s > 0 else 1))
                cin = w
            setattr(self, f'layer{s + 1}', nn.Sequential(*blocks))
        self.out_channels = cin

    def forward(self, x):
        x = self.stem(x)
        for s in range(4):
            x = getattr(self, f'layer{s + 1}')(x)
        return x


class MLP(nn.Module):
    """The toolkit's NonLinearNeck: global average pool, then fc (-> bn) -> relu ... -> fc (-> bn)."""

    def __init__(self, cin, hid, cout, num_layers=2, with_bias=True, with_bn=True, with_last_bn=False, last_bn_affine=True):
        super().__init__()
        widths = [cin] + [hid] * (num_layers - 1) + [cout]
        self.n = num_layers
        for i in range(num_layers):
            last = i == num_layers - 1
            setattr(self, f'fc{i}', nn.Linear(widths[i], widths[i + 1], bias=with_bias))
            if (with_last_bn if last else with_bn):
                setattr(self, f'bn{i}', nn.BatchNorm1d(widths[i + 1], affine=last_bn_affine if last else True))

    def forward(self, x):
        if x.dim() == 4:
            x = x.mean(dim=(2, 3))
        for i in range(self.n):
            x = getattr(self, f'fc{i}')(x)
            if hasattr(self, f'bn{i}'):
                x = getattr(self, f'bn{i}')(x)
            if i < self.n - 1:
                x = F.relu(x)
        return x


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn = ((q @ k.transpose(-2, -1)) * (C // self.heads) ** -0.5).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(B, N, C))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, heads, mlp_ratio):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class ViT(nn.Module):
    """timm's VisionTransformer as MAE and MoBY use it (pre-norm blocks, LayerNorm eps 1e-6, class token), named as the toolkit's."""

    def __init__(self, in_chans, patch, grid, dim, depth, heads, mlp_ratio):
        super().__init__()
        self.patch_embed = nn.Conv2d(in_chans, dim, patch, patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, grid * grid + 1, dim))
        self.blocks = nn.ModuleList([Block(dim, heads, mlp_ratio) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, x, output='cls_token'):
        """The class token after the final norm, or the mean of the patch tokens (`avg_pool`)."""
        x = self.patch_embed(x).flatten(2).transpose(1, 2) + self.pos_embed[:, 1:, :]
        cls = (self.cls_token + self.pos_embed[:, :1, :]).expand(x.shape[0], -1, -1)
        x = torch.cat((cls, x), dim=1)
        for blk in self.blocks:
            x = blk(x)
        x = self.norm(x)
        return x[:, 1:].mean(dim=1) if output == 'avg_pool' else x[:, 0]


def mlp_from(cfg, cin):
    return MLP(cin, cfg['hid_channels'], cfg['out_channels'], cfg.get('num_layers', 2), cfg.get('with_bias', True), cfg.get('with_bn', True),
               cfg.get('with_last_bn', False), cfg.get('last_bn_affine', True))


def read_step(folder):
    """What the test wrote: the hyper-parameters (config.json), the model's state and the views."""
    with open(os.path.join(folder, 'config.json')) as f:
        cfg = json.load(f)
    return cfg, read_tensors(folder, 'state'), read_tensors(folder, 'views')


def resnet_with_neck(cfg, state, backbone_prefix='backbone.', neck_prefix='neck.'):
    """The ResNet-18 of cfg['backbone'] and the MLP of cfg['neck'], loaded from the state, in training mode."""
    b = cfg['backbone']
    backbone = ResNet18(b['in_channels'], b['base_width'])
    neck = mlp_from(cfg['neck'], backbone.out_channels)
    load(backbone, state, backbone_prefix)
    load(neck, state, neck_prefix)
    return backbone.train(), neck.train()


def multicrop(backbone, head, crops):
    """The backbone over each run of same-size crops (globally average-pooled), then the head once over
    all of them (facebookresearch/swav src/resnet50.py forward; facebookresearch/dino MultiCropWrapper)."""
    sizes = [c.shape[-1] for c in crops]
    feats, start = [], 0
    while start < len(crops):
        end = start + 1
        while end < len(crops) and sizes[end] == sizes[start]:
            end += 1
        feats.append(backbone(torch.cat(crops[start:end])).mean(dim=(2, 3)))
        start = end
    return head(torch.cat(feats))


def save_step(folder, loss, g, modules, extra=None):
    """Write the gradients `g` and the state after the step: `modules` ({prefix: module}) in the
    toolkit's layout, `extra` tensors by name, and the loss."""
    after = {}
    for prefix, m in modules.items():
        dump(m, prefix + '.', after)
    after.update(extra or {})
    after['loss'] = loss.detach().reshape([])
    write_tensors(folder, 'torch_grads', g)
    write_tensors(folder, 'torch_state', after)


def sgd_step(modules, lr):
    """Plain SGD (no momentum, no weight decay): p <- p - lr * grad."""
    with torch.no_grad():
        for m in modules:
            for p in m.parameters():
                if p.grad is not None:
                    p -= lr * p.grad


@torch.no_grad()
def momentum_update(online, target, m):
    """xi <- m xi + (1 - m) theta over parameters; buffers stay the target's own (BYOL Algorithm 1; MoCo Algorithm 1)."""
    for po, pt in zip(online.parameters(), target.parameters()):
        pt.mul_(m).add_(po.detach(), alpha=1 - m)
