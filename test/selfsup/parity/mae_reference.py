"""One MAE training step in PyTorch, written from the paper (He et al., Masked Autoencoders Are
Scalable Vision Learners, CVPR 2022, arXiv:2111.06377, Section 3) and the authors' code
(facebookresearch/mae models_mae.py: forward_encoder, random_masking, forward_decoder, forward_loss;
timm's Block with LayerNorm eps 1e-6):

    tokens = patch_embed(x) + pos_embed[1:] (fixed sin-cos, not trained);  keep the patches of the smallest noise (len_keep =
    int(L (1 - mask_ratio))), argsort(noise) the shuffle and argsort(shuffle) the restore order
    encoder: [cls + pos_embed[0], kept tokens] -> blocks -> norm
    decoder: embed, mask tokens appended, unshuffled, + fixed sin-cos positions, blocks, norm, pred
    L = mean over removed patches of mean((pred - target)^2), target normalised per patch (norm_pix_loss)
    theta <- SGD(theta, grad L)

The noise is the toolkit's (config.json), so both draw the same masks.

Usage: mae_reference.py FOLDER (config.json, state.*, views.* in; torch_grads.*, torch_state.* out)."""
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nets import Block, ViT, grads, images, load, read_step, save_step, sgd_step  # noqa: E402


class Decoder(nn.Module):
    """The decoder of models_mae.py, named as the toolkit's MAENeck."""

    def __init__(self, in_dim, num_patches, out_pixels, dim, depth, heads, mlp_ratio):
        super().__init__()
        self.decoder_embed = nn.Linear(in_dim, dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.register_buffer('decoder_pos_embed', torch.zeros(1, num_patches + 1, dim))
        self.decoder_blocks = nn.ModuleList([Block(dim, heads, mlp_ratio) for _ in range(depth)])
        self.decoder_norm = nn.LayerNorm(dim, eps=1e-6)
        self.decoder_pred = nn.Linear(dim, out_pixels)


def patchify(imgs, p):
    N, C, H, W = imgs.shape
    h, w = H // p, W // p
    x = imgs.reshape(N, C, h, p, w, p)
    x = torch.einsum('nchpwq->nhwpqc', x)
    return x.reshape(N, h * w, p * p * C)


def forward_loss(imgs, pred, mask, p, norm_pix_loss):
    """models_mae.py forward_loss (FCMAE's is the same): mean over masked patches of the per-patch MSE."""
    target = patchify(imgs, p)
    if norm_pix_loss:
        mean = target.mean(dim=-1, keepdim=True)
        var = target.var(dim=-1, keepdim=True)
        target = (target - mean) / (var + 1.e-6) ** .5
    loss = ((pred - target) ** 2).mean(dim=-1)
    return (loss * mask).sum() / mask.sum()


def main(folder):
    cfg, state, views = read_step(folder)
    b, d = cfg['backbone'], cfg['neck']
    p = b['patch_size']
    grid = b['img_size'] // p
    enc = ViT(b['in_channels'], p, grid, b['embed_dim'], b['depth'], b['num_heads'], b['mlp_ratio'])
    dec = Decoder(b['embed_dim'], grid * grid, p * p * b['in_channels'], d['decoder_embed_dim'], d['decoder_depth'], d['decoder_num_heads'], d['mlp_ratio'])
    load(enc, state, 'backbone.')
    load(dec, state, 'neck.')
    # models_mae.py: the encoder's pos_embed is fixed sin-cos (requires_grad=False); the state holds
    # the toolkit's, which MAE sets so.
    enc.pos_embed.requires_grad_(False)
    imgs = images(views['0'])
    noise = torch.tensor(cfg['noise'])

    # forward_encoder
    x = enc.patch_embed(imgs).flatten(2).transpose(1, 2)
    x = x + enc.pos_embed[:, 1:, :]
    N, L, D = x.shape
    len_keep = int(L * (1 - cfg['mask_ratio']))
    ids_shuffle = torch.argsort(noise, dim=1)
    ids_restore = torch.argsort(ids_shuffle, dim=1)
    ids_keep = ids_shuffle[:, :len_keep]
    x = torch.gather(x, dim=1, index=ids_keep.unsqueeze(-1).repeat(1, 1, D))
    mask = torch.ones([N, L])
    mask[:, :len_keep] = 0
    mask = torch.gather(mask, dim=1, index=ids_restore)
    cls = (enc.cls_token + enc.pos_embed[:, :1, :]).expand(N, -1, -1)
    x = torch.cat((cls, x), dim=1)
    for blk in enc.blocks:
        x = blk(x)
    latent = enc.norm(x)

    # forward_decoder
    x = dec.decoder_embed(latent)
    mask_tokens = dec.mask_token.repeat(N, ids_restore.shape[1] + 1 - x.shape[1], 1)
    x_ = torch.cat([x[:, 1:, :], mask_tokens], dim=1)
    x_ = torch.gather(x_, dim=1, index=ids_restore.unsqueeze(-1).repeat(1, 1, x.shape[2]))
    x = torch.cat([x[:, :1, :], x_], dim=1) + dec.decoder_pos_embed
    for blk in dec.decoder_blocks:
        x = blk(x)
    pred = dec.decoder_pred(dec.decoder_norm(x))[:, 1:, :]

    loss = forward_loss(imgs, pred, mask, p, cfg['norm_pix_loss'])
    loss.backward()
    g = {}
    grads(enc, 'backbone.', g)
    grads(dec, 'neck.', g)
    sgd_step([enc, dec], cfg['lr'])
    save_step(folder, loss, g, {'backbone': enc, 'neck': dec})


if __name__ == '__main__':
    main(sys.argv[1])
