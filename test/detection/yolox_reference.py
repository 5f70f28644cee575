"""A plain PyTorch port of the YOLOX head's training targets and losses (the reference's
get_assignments, simota_matching and get_losses, for one batch of raw outputs), used to check
src/models/heads/yoloxHead.ts and src/models/algorithms/detection/simota.ts on random cases.

Input (JSON file): a list of cases {raw: [B][A][5+C], xs, ys, strides: [A], gts: [B][n][cx, cy, w, h, label],
num_classes, use_l1}. Output: per case {loss, iou_loss, obj_loss, cls_loss, l1_loss, num_fg, assign:
[B][{fg, gt, iou}]}."""
import json
import sys

import torch
import torch.nn.functional as F


def bboxes_iou_cxcywh(a, b):
    tl = torch.max(a[:, None, :2] - a[:, None, 2:] / 2, b[:, :2] - b[:, 2:] / 2)
    br = torch.min(a[:, None, :2] + a[:, None, 2:] / 2, b[:, :2] + b[:, 2:] / 2)
    area_a = torch.prod(a[:, 2:], 1)
    area_b = torch.prod(b[:, 2:], 1)
    en = (tl < br).type(tl.type()).prod(dim=2)
    inter = torch.prod(br - tl, 2) * en
    return inter / (area_a[:, None] + area_b - inter)


def iou_loss(pred, target):
    tl = torch.max(pred[:, :2] - pred[:, 2:] / 2, target[:, :2] - target[:, 2:] / 2)
    br = torch.min(pred[:, :2] + pred[:, 2:] / 2, target[:, :2] + target[:, 2:] / 2)
    area_p = torch.prod(pred[:, 2:], 1)
    area_g = torch.prod(target[:, 2:], 1)
    en = (tl < br).type(tl.type()).prod(dim=1)
    area_i = torch.prod(br - tl, 1) * en
    iou = area_i / (area_p + area_g - area_i + 1e-16)
    return 1 - iou ** 2


def assign(gt_boxes, gt_classes, boxes, cls, obj, xs, ys, strides, num_classes, center_radius=1.5):
    num_gt = gt_boxes.shape[0]
    xc = ((xs + 0.5) * strides)[None]
    yc = ((ys + 0.5) * strides)[None]
    r = strides[None] * center_radius
    c_l = xc - (gt_boxes[:, 0:1] - r)
    c_r = (gt_boxes[:, 0:1] + r) - xc
    c_t = yc - (gt_boxes[:, 1:2] - r)
    c_b = (gt_boxes[:, 1:2] + r) - yc
    is_in = torch.stack([c_l, c_t, c_r, c_b], 2).min(dim=-1).values > 0.0
    fg_mask = is_in.sum(dim=0) > 0
    geometry = is_in[:, fg_mask]
    boxes_ = boxes[fg_mask]
    m = boxes_.shape[0]
    ious = bboxes_iou_cxcywh(gt_boxes, boxes_)
    gt_cls = F.one_hot(gt_classes.to(torch.int64), num_classes).double()
    p = (cls[fg_mask].sigmoid() * obj[fg_mask].unsqueeze(1).sigmoid()).sqrt()
    cls_cost = F.binary_cross_entropy(p.unsqueeze(0).repeat(num_gt, 1, 1), gt_cls.unsqueeze(1).repeat(1, m, 1), reduction='none').sum(-1)
    cost = cls_cost + 3.0 * -torch.log(ious + 1e-8) + 1e6 * (~geometry)
    matching = torch.zeros_like(cost, dtype=torch.uint8)
    k = min(10, ious.size(1))
    topk, _ = torch.topk(ious, k, dim=1)
    dyn = torch.clamp(topk.sum(1).int(), min=1)
    for g in range(num_gt):
        # Stable ascending order (the TypeScript breaks ties by index).
        order = sorted(range(m), key=lambda j: (cost[g, j].item(), j))[: int(dyn[g])]
        matching[g][order] = 1
    per_anchor = matching.sum(0)
    if per_anchor.max() > 1:
        multi = per_anchor > 1
        _, argmin = torch.min(cost[:, multi], dim=0)
        matching[:, multi] *= 0
        matching[argmin, multi] = 1
    fg_in = matching.sum(0) > 0
    fg_mask[fg_mask.clone()] = fg_in
    matched = matching[:, fg_in].argmax(0)
    pred_ious = (matching * ious).sum(0)[fg_in]
    return fg_mask, matched, pred_ious


def losses(case):
    raw = torch.tensor(case['raw'], dtype=torch.float64)
    xs = torch.tensor(case['xs'], dtype=torch.float64)
    ys = torch.tensor(case['ys'], dtype=torch.float64)
    st = torch.tensor(case['strides'], dtype=torch.float64)
    C = case['num_classes']
    B, A, _ = raw.shape
    grid = torch.stack([xs, ys], 1)[None]
    boxes = torch.cat([(raw[..., :2] + grid) * st[None, :, None], torch.exp(raw[..., 2:4]) * st[None, :, None]], -1)
    obj = raw[..., 4:5]
    cls = raw[..., 5:]
    cls_t, reg_t, l1_t, obj_t, fg_masks, out_assign = [], [], [], [], [], []
    num_fg, num_gts = 0.0, 0.0
    for b in range(B):
        gts = torch.tensor(case['gts'][b], dtype=torch.float64).reshape(-1, 5)
        n = gts.shape[0]
        num_gts += n
        if n == 0:
            cls_t.append(raw.new_zeros((0, C)))
            reg_t.append(raw.new_zeros((0, 4)))
            l1_t.append(raw.new_zeros((0, 4)))
            obj_t.append(raw.new_zeros((A, 1)))
            fg_masks.append(raw.new_zeros(A).bool())
            out_assign.append({'fg': [], 'gt': [], 'iou': []})
            continue
        fg, matched, pious = assign(gts[:, :4], gts[:, 4], boxes[b], cls[b], obj[b][:, 0], xs, ys, st, C)
        num_fg += int(fg.sum())
        cls_t.append(F.one_hot(gts[matched, 4].to(torch.int64), C) * pious.unsqueeze(-1))
        obj_t.append(fg.unsqueeze(-1).double())
        g = gts[matched, :4]
        reg_t.append(g)
        s = st[fg]
        l1_t.append(torch.stack([g[:, 0] / s - xs[fg], g[:, 1] / s - ys[fg], torch.log(g[:, 2] / s + 1e-8), torch.log(g[:, 3] / s + 1e-8)], 1))
        fg_masks.append(fg)
        out_assign.append({'fg': torch.nonzero(fg)[:, 0].tolist(), 'gt': matched.tolist(), 'iou': pious.tolist()})
    cls_t, reg_t, l1_t, obj_t, fg_m = torch.cat(cls_t), torch.cat(reg_t), torch.cat(l1_t), torch.cat(obj_t), torch.cat(fg_masks)
    nf = max(num_fg, 1)
    l_iou = iou_loss(boxes.view(-1, 4)[fg_m], reg_t).sum() / nf
    l_obj = F.binary_cross_entropy_with_logits(obj.reshape(-1, 1), obj_t, reduction='none').sum() / nf
    l_cls = F.binary_cross_entropy_with_logits(cls.reshape(-1, C)[fg_m], cls_t, reduction='none').sum() / nf
    l_l1 = (raw[..., :4].reshape(-1, 4)[fg_m] - l1_t).abs().sum() / nf if case['use_l1'] else torch.tensor(0.0)
    loss = 5.0 * l_iou + l_obj + l_cls + l_l1
    return {'loss': loss.item(), 'iou_loss': 5.0 * l_iou.item(), 'obj_loss': l_obj.item(), 'cls_loss': l_cls.item(), 'l1_loss': float(l_l1), 'num_fg': num_fg / max(num_gts, 1), 'assign': out_assign}


cases = json.load(open(sys.argv[1]))
print(json.dumps([losses(c) for c in cases]))
