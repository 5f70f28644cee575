"""One MoBY training step in PyTorch, written from the paper (Xie et al., Self-Supervised Learning with
Swin Transformers, arXiv:2105.04553, Section 3) and the authors' code (SwinTransformer/Transformer-SSL,
models/moby.py: forward, contrastive_loss, _momentum_update_key_encoder, _dequeue_and_enqueue):

    for each view v (its own forward pass):  q_v = normalize(pred(proj(enc(v))))
    the key encoder first follows the online one: xi <- m_k xi + (1 - m_k) theta,
        m_k = 1 - (1 - m_base)(cos(pi k / K) + 1) / 2 with k the number of earlier updates
    k_v = normalize(proj_k(enc_k(v)))  (no gradient)
    L = CE([q_1 . k_2, q_1 . queue2] / T) + CE([q_2 . k_1, q_2 . queue1] / T)
    theta <- SGD(theta, grad L);  queue1 <- k_1, queue2 <- k_2 at the pointer

The reference moves the key encoder at the start of a step and the toolkit at the end of the one
before; from the same start (key = online encoder) the first update is a no-op, and this script
dumps the key encoder after the update that starts the next step (k + 1).

Usage: moby_reference.py FOLDER (config.json, state.*, views.* in; torch_grads.*, torch_state.* out)."""
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nets import ViT, grads, images, load, mlp_from, momentum_update, read_step, save_step, sgd_step  # noqa: E402


def contrastive_loss(q, k, queue, t):
    l_pos = torch.einsum('nc,nc->n', [q, k]).unsqueeze(-1)
    l_neg = torch.einsum('nc,ck->nk', [q, queue.clone().detach()])
    logits = torch.cat([l_pos, l_neg], dim=1) / t
    return F.cross_entropy(logits, torch.zeros(logits.shape[0], dtype=torch.long))


def main(folder):
    cfg, state, views = read_step(folder)
    b = cfg['backbone']
    grid = b['img_size'] // b['patch_size']
    nets = {p: ViT(b['in_channels'], b['patch_size'], grid, b['embed_dim'], b['depth'], b['num_heads'], b['mlp_ratio']) for p in ('backbone', 'target_backbone')}
    nets.update({p: mlp_from(cfg['neck'], b['embed_dim']) for p in ('neck', 'target_neck')})
    out = cfg['neck']['out_channels']
    nets['predictor.predictor'] = mlp_from({**cfg['predictor'], 'out_channels': out}, out)
    for prefix, m in nets.items():
        load(m, state, prefix + '.')
        m.train()
    queues = {i: state[f'queue{i}.queue'].t().clone() for i in (1, 2)}  # [dim, K]
    ptrs = {i: int(state[f'queue{i}.ptr'].item()) for i in (1, 2)}
    k_step, K = cfg['iter'], cfg['max_iters']
    moment = lambda k: 1. - (1. - cfg['momentum_base']) * (math.cos(math.pi * k / K) + 1) / 2.  # noqa: E731

    def key_update(m):
        momentum_update(nets['backbone'], nets['target_backbone'], m)
        momentum_update(nets['neck'], nets['target_neck'], m)

    im_1, im_2 = images(views['0']), images(views['1'])
    online = lambda x: F.normalize(nets['predictor.predictor'](nets['neck'](nets['backbone'](x, b['output']))), dim=1)  # noqa: E731
    pred_1, pred_2 = online(im_1), online(im_2)
    with torch.no_grad():
        key_update(moment(k_step))  # a no-op here: the key encoder equals the online one
        key = lambda x: F.normalize(nets['target_neck'](nets['target_backbone'](x, b['output'])), dim=1)  # noqa: E731
        proj_1_ng, proj_2_ng = key(im_1), key(im_2)
    t = cfg['temperature']
    loss = contrastive_loss(pred_1, proj_2_ng, queues[2], t) + contrastive_loss(pred_2, proj_1_ng, queues[1], t)
    loss.backward()
    g = {}
    for prefix in ('backbone', 'neck', 'predictor.predictor'):
        grads(nets[prefix], prefix + '.', g)
    sgd_step([nets['backbone'], nets['neck'], nets['predictor.predictor']], cfg['lr'])
    n = proj_1_ng.shape[0]
    for i, keys in ((1, proj_1_ng), (2, proj_2_ng)):
        queues[i][:, ptrs[i]:ptrs[i] + n] = keys.t()
        ptrs[i] = (ptrs[i] + n) % queues[i].shape[1]
    key_update(moment(k_step + 1))  # the start of the next step
    extra = {}
    for i in (1, 2):
        extra[f'queue{i}.queue'] = queues[i].t()
        extra[f'queue{i}.ptr'] = torch.tensor(float(ptrs[i]))
    save_step(folder, loss, g, nets, extra)


if __name__ == '__main__':
    main(sys.argv[1])
