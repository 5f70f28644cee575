"""One FCMAE training step in PyTorch, written from the ConvNeXt V2 paper (Woo et al., arXiv:2301.00808,
Section 2 and Eq. 1-3) and the authors' code (facebookresearch/ConvNeXt-V2: models/fcmae.py
gen_random_mask, upsample_mask, forward_decoder, forward_loss; models/convnextv2_sparse.py, whose
sparse convolutions, layer norms and GRN work on the visible sites only; models/utils.py GRN):

    mask: per image, the patches of the largest noise hidden (len_keep = int(L (1 - mask_ratio))), at
    the last stage's resolution, upsampled to each stage's
    encoder (NCHW, channels-first layer norms): stem conv + LN, then per stage (downsampling LN + 2x2
    conv), blocks: dwconv 7x7 -> LN -> pwconv1 -> GELU -> GRN -> pwconv2, + input; a site that is
    hidden has no features (here: zeros after every stage's first layer and every block, and out of
    GRN's norms)
    decoder: proj (1x1 conv), hidden sites = mask token, one ConvNeXt V2 block, pred (1x1 conv)
    L = mean over hidden patches of mean((pred - target)^2), target normalised per patch (norm_pix_loss)
    theta <- SGD(theta, grad L)

The noise is the toolkit's (config.json), so both draw the same masks. The encoder has no final norm
(the sparse encoder has none): the toolkit keeps its ConvNeXt's for fine-tuning, unused here.

Usage: fcmae_reference.py FOLDER (config.json, state.*, views.* in; torch_grads.*, torch_state.* out)."""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nets import dump, grads, images, load, read_step, save_step, sgd_step  # noqa: E402
from mae_reference import forward_loss  # noqa: E402


class LayerNorm2d(nn.LayerNorm):
    """Layer norm over the channels of an NCHW map (the code's channels_first LayerNorm)."""

    def forward(self, x):
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class GRN(nn.Module):
    """Eq. 1-3 on channels-last maps; the norm over the visible sites only (the sparse GRN)."""

    def __init__(self, dim):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(dim))
        self.bias = nn.Parameter(torch.zeros(dim))

    def forward(self, x):
        gx = torch.norm(x, p=2, dim=(1, 2), keepdim=True)
        nx = gx / (gx.mean(dim=-1, keepdim=True) + 1e-6)
        return self.weight * (x * nx) + self.bias + x


class Mlp(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.grn = GRN(4 * dim)
        self.fc2 = nn.Linear(4 * dim, dim)


class Block(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.conv_dw = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim)

    def forward(self, x, visible=None):
        y = self.norm(self.conv_dw(x).permute(0, 2, 3, 1))
        y = F.gelu(self.mlp.fc1(y))
        if visible is not None:
            y = y * visible.permute(0, 2, 3, 1)
        y = self.mlp.fc2(self.mlp.grn(y)).permute(0, 3, 1, 2)
        out = x + y
        return out if visible is None else out * visible


class NormConv(nn.Module):
    def __init__(self, cin, cout, k, norm_first):
        super().__init__()
        self.norm_first = norm_first
        self.norm = LayerNorm2d(cin if norm_first else cout, eps=1e-6)
        self.conv = nn.Conv2d(cin, cout, k, k)

    def forward(self, x):
        return self.conv(self.norm(x)) if self.norm_first else self.norm(self.conv(x))


class Stage(nn.Module):
    def __init__(self, cin, dim, depth):
        super().__init__()
        if cin is not None:
            self.downsample = NormConv(cin, dim, 2, True)
        self.blocks = nn.ModuleList([Block(dim) for _ in range(depth)])


class Encoder(nn.Module):
    def __init__(self, in_ch, patch, depths, dims):
        super().__init__()
        self.stem = NormConv(in_ch, dims[0], patch, False)
        self.stages = nn.ModuleList([Stage(None if s == 0 else dims[s - 1], dims[s], d) for s, d in enumerate(depths)])

    def forward(self, x, hidden):
        x = self.stem(x)
        last = len(self.stages) - 1
        for s, stage in enumerate(self.stages):
            # upsample_mask: each hidden patch covers 2^(last - s) sites per side at stage s.
            k = 2 ** (last - s)
            visible = 1 - hidden.repeat_interleave(k, dim=2).repeat_interleave(k, dim=3)
            if hasattr(stage, 'downsample'):
                x = stage.downsample(x)
            x = x * visible
            for blk in stage.blocks:
                x = blk(x, visible)
        return x


class Decoder(nn.Module):
    """proj, mask token, blocks and pred of fcmae.py, named as the toolkit's FCMAE."""

    def __init__(self, cin, dim, depth, out_pixels):
        super().__init__()
        self.proj = nn.Conv2d(cin, dim, 1)
        self.mask_token = nn.Parameter(torch.zeros(1, dim, 1, 1))
        self.decoder = nn.ModuleList([Block(dim) for _ in range(depth)])
        self.pred = nn.Conv2d(dim, out_pixels, 1)


def main(folder):
    cfg, state, views = read_step(folder)
    b = cfg['backbone']
    stride = b['patch_size'] * 2 ** (len(b['depths']) - 1)
    enc = Encoder(b['in_channels'], b['patch_size'], b['depths'], b['dims'])
    dec = Decoder(b['dims'][-1], cfg['decoder_embed_dim'], cfg['decoder_depth'], stride * stride * b['in_channels'])
    load(enc, state, 'backbone.')
    load(dec, state, '')
    imgs = images(views['0'])
    N, _, H, W = imgs.shape
    h, w = H // stride, W // stride
    L = h * w

    # gen_random_mask, with the toolkit's noise
    noise = torch.tensor(cfg['noise'])
    len_keep = int(L * (1 - cfg['mask_ratio']))
    ids_shuffle = torch.argsort(noise, dim=1)
    ids_restore = torch.argsort(ids_shuffle, dim=1)
    mask = torch.ones([N, L])
    mask[:, :len_keep] = 0
    mask = torch.gather(mask, dim=1, index=ids_restore)
    hidden = mask.reshape(N, 1, h, w)

    x = enc(imgs, hidden)
    # forward_decoder
    x = dec.proj(x)
    x = x * (1. - hidden) + dec.mask_token * hidden
    for blk in dec.decoder:
        x = blk(x)
    pred = dec.pred(x)
    pred = torch.einsum('ncl->nlc', pred.reshape(N, pred.shape[1], -1))

    loss = forward_loss(imgs, pred, mask, stride, cfg['norm_pix_loss'])
    loss.backward()
    g = {}
    grads(enc, 'backbone.', g)
    grads(dec, '', g)
    sgd_step([enc, dec], cfg['lr'])
    top = {}
    dump(dec, '', top)
    save_step(folder, loss, g, {'backbone': enc}, top)


if __name__ == '__main__':
    main(sys.argv[1])
