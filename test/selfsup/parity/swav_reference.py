"""One SwAV training step in PyTorch, written from the paper (Caron et al., Unsupervised Learning of
Visual Features by Contrasting Cluster Assignments, NeurIPS 2020, arXiv:2006.09882, Eq. 1-3, Appendix
A.1) and the authors' code (facebookresearch/swav: main_swav.py train() and distributed_sinkhorn,
src/resnet50.py forward):

    prototypes <- normalize(prototypes)                             (before the step, no gradient)
    features: the backbone over each run of same-size crops, concatenated; then the projection head
    once over all crops, L2-normalised, scored against the prototypes (scores / T are the logits)
    for each crop s of crops_for_assign: q_s = Sinkhorn-Knopp(scores_s) (no gradient; eps, 3 iterations)
        subloss_s = mean over the other crops v of  -mean_b sum_k q_s log softmax(scores_v / T)
    L = mean_s subloss_s;  theta <- SGD(theta, grad L)

Usage: swav_reference.py FOLDER (config.json, state.*, views.* in; torch_grads.*, torch_state.* out)."""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nets import grads, images, load, multicrop, read_step, resnet_with_neck, save_step, sgd_step  # noqa: E402


@torch.no_grad()
def sinkhorn(out, epsilon, iterations):
    Q = torch.exp(out / epsilon).t()  # K x B
    B = Q.shape[1]
    K = Q.shape[0]
    Q /= torch.sum(Q)
    for _ in range(iterations):
        Q /= torch.sum(Q, dim=1, keepdim=True)
        Q /= K
        Q /= torch.sum(Q, dim=0, keepdim=True)
        Q /= B
    Q *= B
    return Q.t()


def main(folder):
    cfg, state, views = read_step(folder)
    backbone, neck = resnet_with_neck(cfg, state)
    prototypes = nn.Linear(cfg['neck']['out_channels'], cfg['num_prototypes'], bias=False)
    load(prototypes, state, 'head.prototypes.')
    with torch.no_grad():
        prototypes.weight.copy_(F.normalize(prototypes.weight, dim=1, p=2))

    crops = [images(views[str(i)]) for i in range(len(views))]
    bs = crops[0].shape[0]
    # src/resnet50.py forward: the backbone per resolution, the head once on everything.
    output = multicrop(backbone, lambda f: prototypes(F.normalize(neck(f), dim=1, p=2)), crops)

    n_crops = len(crops)
    loss = 0
    for crop_id in cfg['crops_for_assign']:
        with torch.no_grad():
            q = sinkhorn(output[bs * crop_id: bs * (crop_id + 1)].detach(), cfg['epsilon'], cfg['sinkhorn_iterations'])[-bs:]
        subloss = 0
        for v in range(n_crops):
            if v == crop_id:
                continue
            x = output[bs * v: bs * (v + 1)] / cfg['temperature']
            subloss -= torch.mean(torch.sum(q * F.log_softmax(x, dim=1), dim=1))
        loss += subloss / (n_crops - 1)
    loss /= len(cfg['crops_for_assign'])
    loss.backward()
    g = {}
    grads(backbone, 'backbone.', g)
    grads(neck, 'neck.', g)
    grads(prototypes, 'head.prototypes.', g)
    sgd_step([backbone, neck, prototypes], cfg['lr'])
    save_step(folder, loss, g, {'backbone': backbone, 'neck': neck, 'head.prototypes': prototypes})


if __name__ == '__main__':
    main(sys.argv[1])
