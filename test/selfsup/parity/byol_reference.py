"""One BYOL training step in PyTorch, written from the paper (Grill et al., Bootstrap Your Own Latent,
NeurIPS 2020, arXiv:2006.07733, Algorithm 1 and Section 3.2) and the authors' code (deepmind-research
byol/byol_experiment.py: each view is a separate forward pass; mmselfsup's BYOL and LatentPredictHead
do the same):

    for each view v:  z_v = g_theta(f_theta(v)),  p_v = q_theta(z_v),  z'_v = g_xi(f_xi(v))  (no gradient)
    L = (2 - 2 cos(p_1, z'_2)) + (2 - 2 cos(p_2, z'_1)),  means over the batch
    theta <- SGD(theta, grad L);  xi <- tau xi + (1 - tau) theta,
    tau = 1 - (1 - tau_base) (cos(pi k / K) + 1) / 2.

Usage: byol_reference.py FOLDER (config.json, state.*, views.* in; torch_grads.*, torch_state.* out)."""
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nets import ResNet18, grads, images, load, mlp_from, momentum_update, read_step, save_step, sgd_step  # noqa: E402


def regression(p, z):
    return (2 - 2 * (F.normalize(p, dim=1) * F.normalize(z, dim=1)).sum(dim=1)).mean()


def main(folder):
    cfg, state, views = read_step(folder)
    b = cfg['backbone']
    nets = {}
    for prefix in ('backbone', 'target_backbone'):
        nets[prefix] = ResNet18(b['in_channels'], b['base_width'])
    feat = nets['backbone'].out_channels
    for prefix in ('neck', 'target_neck'):
        nets[prefix] = mlp_from(cfg['neck'], feat)
    nets['head.predictor'] = mlp_from({**cfg['predictor'], 'out_channels': cfg['neck']['out_channels']}, cfg['neck']['out_channels'])
    for prefix, m in nets.items():
        load(m, state, prefix + '.')
        m.train()
    online = lambda x: nets['neck'](nets['backbone'](x))  # noqa: E731
    v1, v2 = images(views['0']), images(views['1'])
    z1, z2 = online(v1), online(v2)
    p1, p2 = nets['head.predictor'](z1), nets['head.predictor'](z2)
    with torch.no_grad():
        t1 = nets['target_neck'](nets['target_backbone'](v1))
        t2 = nets['target_neck'](nets['target_backbone'](v2))
    loss = regression(p1, t2) + regression(p2, t1)
    loss.backward()
    g = {}
    for prefix in ('backbone', 'neck', 'head.predictor'):
        grads(nets[prefix], prefix + '.', g)
    sgd_step([nets['backbone'], nets['neck'], nets['head.predictor']], cfg['lr'])
    k, K = cfg['iter'], cfg['max_iters']
    tau = 1 - (1 - cfg['tau_base']) * (math.cos(math.pi * k / K) + 1) / 2
    momentum_update(nets['backbone'], nets['target_backbone'], tau)
    momentum_update(nets['neck'], nets['target_neck'], tau)
    save_step(folder, loss, g, nets, {'tau': torch.tensor(tau)})


if __name__ == '__main__':
    main(sys.argv[1])
