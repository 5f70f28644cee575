"""One DINO training step in PyTorch, written from the paper (Caron et al., Emerging Properties in
Self-Supervised Vision Transformers, ICCV 2021, arXiv:2104.14294, Algorithm 1, Eq. 2-4) and the
authors' code (facebookresearch/dino: main_dino.py DINOLoss and train_one_epoch, utils.py
MultiCropWrapper and cosine_scheduler, vision_transformer.py DINOHead):

    teacher = head_t(backbone_t(global crops));  student = head_s(backbone_s(all crops))
      (MultiCropWrapper: the backbone per run of same-size crops, the head once on everything)
    P_t = softmax((t - C) / tau_t) (no gradient);  L = mean over pairs (g, v != g) of -P_t(g) . log_softmax(s_v / tau_s)
    theta <- SGD(theta, grad L);  xi <- m xi + (1 - m) theta, m = 1 + (m_base - 1)(cos(pi k / K) + 1) / 2
    C <- C m_c + (1 - m_c) mean(t)

Usage: dino_reference.py FOLDER (config.json, state.*, views.* in; torch_grads.*, torch_state.* out)."""
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nets import ResNet18, dump, grads, images, load, momentum_update, multicrop, read_step, sgd_step, write_tensors  # noqa: E402


class DINOHead(nn.Module):
    """vision_transformer.py DINOHead; named as the toolkit names it (mlp.i, bn.i, last_layer.weight_v/g)."""

    def __init__(self, in_dim, out_dim, use_bn, nlayers, hidden_dim, bottleneck_dim):
        super().__init__()
        widths = [in_dim] + [hidden_dim] * (nlayers - 1) + [bottleneck_dim]
        self.mlp = nn.ModuleList([nn.Linear(widths[i], widths[i + 1]) for i in range(nlayers)])
        self.bn = nn.ModuleList([nn.BatchNorm1d(widths[i + 1]) for i in range(nlayers - 1)]) if use_bn else None
        self.last_layer = nn.utils.weight_norm(nn.Linear(bottleneck_dim, out_dim, bias=False))
        self.last_layer.weight_g.data.fill_(1)
        self.last_layer.weight_g.requires_grad = False  # norm_last_layer

    def forward(self, x):
        for i, fc in enumerate(self.mlp):
            x = fc(x)
            if i < len(self.mlp) - 1:
                if self.bn is not None:
                    x = self.bn[i](x)
                x = F.gelu(x)
        return self.last_layer(F.normalize(x, dim=-1, p=2))


def load_head(head, state, prefix):
    with torch.no_grad():
        for i, fc in enumerate(head.mlp):
            fc.weight.copy_(state[f'{prefix}mlp.{i}.weight'].t())
            fc.bias.copy_(state[f'{prefix}mlp.{i}.bias'])
        if head.bn is not None:
            for i, bn in enumerate(head.bn):
                for k in ('weight', 'bias', 'running_mean', 'running_var'):
                    getattr(bn, k).copy_(state[f'{prefix}bn.{i}.{k}'])
        head.last_layer.weight_v.copy_(state[f'{prefix}last_layer.weight_v'].t())


def dump_head(head, prefix, out, with_grads=False):
    for i, fc in enumerate(head.mlp):
        out[f'{prefix}mlp.{i}.weight'] = (fc.weight.grad if with_grads else fc.weight).t()
        out[f'{prefix}mlp.{i}.bias'] = fc.bias.grad if with_grads else fc.bias
    if head.bn is not None:
        for i, bn in enumerate(head.bn):
            for k in ('weight', 'bias') if with_grads else ('weight', 'bias', 'running_mean', 'running_var'):
                t = getattr(bn, k)
                out[f'{prefix}bn.{i}.{k}'] = t.grad if with_grads else t
    v = head.last_layer.weight_v
    out[f'{prefix}last_layer.weight_v'] = (v.grad if with_grads else v).t()


def main(folder):
    cfg, state, views = read_step(folder)
    b, h = cfg['backbone'], cfg['head']
    student_b, teacher_b = ResNet18(b['in_channels'], b['base_width']), ResNet18(b['in_channels'], b['base_width'])
    feat = student_b.out_channels
    mk = lambda: DINOHead(feat, h['out_channels'], h['use_bn'], h['num_layers'], h['hid_channels'], h['bottleneck_channels'])  # noqa: E731
    student_h, teacher_h = mk(), mk()
    load(student_b, state, 'backbone.')
    load(teacher_b, state, 'teacher_backbone.')
    load_head(student_h, state, 'head.')
    load_head(teacher_h, state, 'teacher_head.')
    for m in (student_b, teacher_b, student_h, teacher_h):
        m.train()
    center = state['loss.center'].clone()

    crops = [images(views[str(i)]) for i in range(len(views))]
    ncrops = len(crops)
    with torch.no_grad():
        teacher_output = multicrop(teacher_b, teacher_h, crops[:2])
    student_output = multicrop(student_b, student_h, crops)
    # DINOLoss.forward
    temp = cfg['teacher_temp']
    student_out = (student_output / cfg['student_temp']).chunk(ncrops)
    teacher_out = F.softmax((teacher_output - center) / temp, dim=-1).detach().chunk(2)
    total_loss, n_loss_terms = 0, 0
    for iq, q in enumerate(teacher_out):
        for v in range(len(student_out)):
            if v == iq:
                continue
            total_loss += torch.sum(-q * F.log_softmax(student_out[v], dim=-1), dim=-1).mean()
            n_loss_terms += 1
    loss = total_loss / n_loss_terms
    batch_center = torch.sum(teacher_output, dim=0, keepdim=True) / len(teacher_output)
    center = center * cfg['center_momentum'] + batch_center * (1 - cfg['center_momentum'])
    loss.backward()
    g = {}
    grads(student_b, 'backbone.', g)
    dump_head(student_h, 'head.', g, with_grads=True)
    sgd_step([student_b, student_h], cfg['lr'])
    k, K = cfg['iter'], cfg['max_iters']
    m = 1 + (cfg['momentum_base'] - 1) * (1 + math.cos(math.pi * k / K)) / 2
    momentum_update(student_b, teacher_b, m)
    with torch.no_grad():
        for ps, pt in zip(student_h.parameters(), teacher_h.parameters()):
            pt.mul_(m).add_((1 - m) * ps.detach())
    after = {}
    dump(student_b, 'backbone.', after)
    dump(teacher_b, 'teacher_backbone.', after)
    dump_head(student_h, 'head.', after)
    dump_head(teacher_h, 'teacher_head.', after)
    after['loss.center'] = center
    after['loss'] = loss.detach().reshape([])
    write_tensors(folder, 'torch_grads', g)
    write_tensors(folder, 'torch_state', after)


if __name__ == '__main__':
    main(sys.argv[1])
