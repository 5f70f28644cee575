"""One SimCLR training step in PyTorch, written from the paper (Chen et al., A Simple Framework for
Contrastive Learning of Visual Representations, ICML 2020, arXiv:2002.05709, Algorithm 1) and the
authors' code (google-research/simclr: both views in one batch through the network, so batch norm
sees 2N images; objective.py masks each anchor's own similarity with a large number):

    z = g(f(concat(x_1, x_2)))                       2N projections, rows k and N + k from image k
    s_ij = z_i . z_j / (|z_i| |z_j|)
    l(i, j) = -log( exp(s_ij / T) / sum_{k != i} exp(s_ik / T) )
    L = 1 / 2N sum_k [ l(k, N + k) + l(N + k, k) ]     (Algorithm 1; the code's loss_a + loss_b is 2 L)
    theta <- SGD(theta, grad L)

Usage: simclr_reference.py FOLDER (config.json, state.*, views.* in; torch_grads.*, torch_state.* out)."""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nets import grads, images, read_step, resnet_with_neck, save_step, sgd_step  # noqa: E402


def nt_xent(z, n, t):
    z = F.normalize(z, dim=1)
    s = z @ z.t() / t
    loss = 0
    for i in range(2 * n):
        j = i + n if i < n else i - n
        others = torch.cat([s[i, :i], s[i, i + 1:]])
        loss = loss - (s[i, j] - torch.logsumexp(others, 0))
    return loss / (2 * n)


def main(folder):
    cfg, state, views = read_step(folder)
    backbone, neck = resnet_with_neck(cfg, state)
    v1, v2 = images(views['0']), images(views['1'])
    z = neck(backbone(torch.cat([v1, v2])))
    loss = nt_xent(z, v1.shape[0], cfg['temperature'])
    loss.backward()
    g = {}
    grads(backbone, 'backbone.', g)
    grads(neck, 'neck.', g)
    sgd_step([backbone, neck], cfg['lr'])
    save_step(folder, loss, g, {'backbone': backbone, 'neck': neck})


if __name__ == '__main__':
    main(sys.argv[1])
