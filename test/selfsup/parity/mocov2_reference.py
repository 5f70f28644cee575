"""One MoCo v2 training step in PyTorch, written from the papers (He et al., Momentum Contrast, CVPR
2020, arXiv:1911.05722, Algorithm 1; Chen et al., MoCo v2, arXiv:2003.04297: MLP head, T = 0.2) and
the authors' code (facebookresearch/moco, moco/builder.py):

    the key encoder follows the query encoder: xi <- m xi + (1 - m) theta   (first, without gradient)
    q = normalize(g_q(f_q(x_q)));  k = normalize(g_k(f_k(x_k)))            (k without gradient)
    logits = [q . k, q . queue] / T;  L = cross-entropy with the positive at index 0
    theta <- SGD(theta, grad L);  queue[:, ptr:ptr + N] = k;  ptr <- (ptr + N) mod K

The reference moves the key encoder at the start of a step and the toolkit at the end of the one
before: the same sequence. From the same start (key = query encoder) the first update is a no-op, and
the key encoder the toolkit holds after its step is the one the reference computes at the start of
the next step, which is what this script dumps.

Usage: mocov2_reference.py FOLDER (config.json, state.*, views.* in; torch_grads.*, torch_state.* out)."""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nets import ResNet18, grads, images, load, mlp_from, momentum_update, read_step, save_step, sgd_step  # noqa: E402


def main(folder):
    cfg, state, views = read_step(folder)
    b = cfg['backbone']
    nets = {p: ResNet18(b['in_channels'], b['base_width']) for p in ('backbone', 'key_backbone')}
    feat = nets['backbone'].out_channels
    nets.update({p: mlp_from(cfg['neck'], feat) for p in ('neck', 'key_neck')})
    for prefix, m in nets.items():
        load(m, state, prefix + '.')
        m.train()
    queue = state['queue.queue'].t().clone()  # the reference's [dim, K]
    ptr = int(state['queue.ptr'].item())
    K = queue.shape[1]
    m = cfg['momentum']
    encoder_q = lambda x: nets['neck'](nets['backbone'](x))  # noqa: E731
    encoder_k = lambda x: nets['key_neck'](nets['key_backbone'](x))  # noqa: E731

    im_q, im_k = images(views['0']), images(views['1'])
    q = F.normalize(encoder_q(im_q), dim=1)
    with torch.no_grad():
        momentum_update(nets['backbone'], nets['key_backbone'], m)
        momentum_update(nets['neck'], nets['key_neck'], m)
        k = F.normalize(encoder_k(im_k), dim=1)
    l_pos = torch.einsum('nc,nc->n', q, k).unsqueeze(-1)
    l_neg = torch.einsum('nc,ck->nk', q, queue.clone().detach())
    logits = torch.cat([l_pos, l_neg], dim=1) / cfg['temperature']
    labels = torch.zeros(logits.shape[0], dtype=torch.long)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    g = {}
    grads(nets['backbone'], 'backbone.', g)
    grads(nets['neck'], 'neck.', g)
    sgd_step([nets['backbone'], nets['neck']], cfg['lr'])
    n = k.shape[0]
    assert K % n == 0
    queue[:, ptr:ptr + n] = k.t()
    ptr = (ptr + n) % K
    # The start of the next step: the key encoder follows the updated query encoder.
    momentum_update(nets['backbone'], nets['key_backbone'], m)
    momentum_update(nets['neck'], nets['key_neck'], m)
    save_step(folder, loss, g, nets, {'queue.queue': queue.t(), 'queue.ptr': torch.tensor(float(ptr))})


if __name__ == '__main__':
    main(sys.argv[1])
