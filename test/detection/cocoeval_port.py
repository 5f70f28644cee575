"""A plain numpy port of pycocotools' COCOeval for boxes (evaluate, accumulate, summarize), used to
check src/eval/cocoEval.ts on random cases. Reads a JSON list of {gt, dets} cases, prints the 12
summary numbers of each and its per-category precision at IoU .5 over the recall thresholds
as JSON. No pycocotools needed (it is not packaged for this machine)."""
import json
import sys
from collections import defaultdict

import numpy as np


def bb_iou(d, g, crowd):
    ious = np.zeros((len(d), len(g)))
    for i, a in enumerate(d):
        for j, b in enumerate(g):
            w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
            if w <= 0:
                continue
            h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
            if h <= 0:
                continue
            inter = w * h
            union = a[2] * a[3] if crowd[j] else a[2] * a[3] + b[2] * b[3] - inter
            ious[i, j] = inter / union
    return ious


def evaluate(gt, dets):
    iou_thrs = np.linspace(.5, 0.95, int(np.round((0.95 - .5) / .05)) + 1, endpoint=True)
    rec_thrs = np.linspace(.0, 1.00, int(np.round((1.00 - .0) / .01)) + 1, endpoint=True)
    max_dets = [1, 10, 100]
    area_rng = [[0 ** 2, 1e5 ** 2], [0 ** 2, 32 ** 2], [32 ** 2, 96 ** 2], [96 ** 2, 1e5 ** 2]]
    img_ids = sorted({i['id'] for i in gt['images']})
    cat_ids = sorted({c['id'] for c in gt['categories']})
    gts = defaultdict(list)
    dts = defaultdict(list)
    for a in gt['annotations']:
        a = dict(a)
        a['ignore'] = a.get('iscrowd', 0)
        gts[a['image_id'], a['category_id']].append(a)
    for k, d in enumerate(dets):
        d = dict(d)
        d['id'] = k + 1
        d['area'] = d['bbox'][2] * d['bbox'][3]
        d['iscrowd'] = 0
        dts[d['image_id'], d['category_id']].append(d)

    def compute_iou(img, cat):
        g, d = gts[img, cat], dts[img, cat]
        if len(g) == 0 and len(d) == 0:
            return []
        inds = np.argsort([-x['score'] for x in d], kind='mergesort')
        d = [d[i] for i in inds][:max_dets[-1]]
        return bb_iou([x['bbox'] for x in d], [x['bbox'] for x in g], [int(x['iscrowd']) for x in g])

    ious = {(i, c): compute_iou(i, c) for i in img_ids for c in cat_ids}

    def evaluate_img(img, cat, a_rng, max_det):
        g, d = gts[img, cat], dts[img, cat]
        if len(g) == 0 and len(d) == 0:
            return None
        for x in g:
            x['_ignore'] = 1 if (x['ignore'] or x['area'] < a_rng[0] or x['area'] > a_rng[1]) else 0
        gtind = np.argsort([x['_ignore'] for x in g], kind='mergesort')
        g = [g[i] for i in gtind]
        dtind = np.argsort([-x['score'] for x in d], kind='mergesort')
        d = [d[i] for i in dtind[0:max_det]]
        iscrowd = [int(x['iscrowd']) for x in g]
        io = ious[img, cat][:, gtind] if len(ious[img, cat]) > 0 else ious[img, cat]
        T, G, D = len(iou_thrs), len(g), len(d)
        gtm, dtm = np.zeros((T, G)), np.zeros((T, D))
        gt_ig = np.array([x['_ignore'] for x in g])
        dt_ig = np.zeros((T, D))
        if not len(io) == 0:
            for ti, t in enumerate(iou_thrs):
                for di, dd in enumerate(d):
                    best = min([t, 1 - 1e-10])
                    m = -1
                    for gi, gg in enumerate(g):
                        if gtm[ti, gi] > 0 and not iscrowd[gi]:
                            continue
                        if m > -1 and gt_ig[m] == 0 and gt_ig[gi] == 1:
                            break
                        if io[di, gi] < best:
                            continue
                        best = io[di, gi]
                        m = gi
                    if m == -1:
                        continue
                    dt_ig[ti, di] = gt_ig[m]
                    dtm[ti, di] = g[m]['id']
                    gtm[ti, m] = dd['id']
        a = np.array([x['area'] < a_rng[0] or x['area'] > a_rng[1] for x in d]).reshape((1, len(d)))
        dt_ig = np.logical_or(dt_ig, np.logical_and(dtm == 0, np.repeat(a, T, 0)))
        return {'dtMatches': dtm, 'dtScores': [x['score'] for x in d], 'gtIgnore': gt_ig, 'dtIgnore': dt_ig}

    evals = {(c, ai, i): evaluate_img(i, c, ar, max_dets[-1]) for c in cat_ids for ai, ar in enumerate(area_rng) for i in img_ids}
    T, R, K, A, M = len(iou_thrs), len(rec_thrs), len(cat_ids), len(area_rng), len(max_dets)
    precision = -np.ones((T, R, K, A, M))
    recall = -np.ones((T, K, A, M))
    for k, c in enumerate(cat_ids):
        for a in range(A):
            for m, md in enumerate(max_dets):
                E = [evals[c, a, i] for i in img_ids]
                E = [e for e in E if e is not None]
                if len(E) == 0:
                    continue
                scores = np.concatenate([e['dtScores'][0:md] for e in E])
                inds = np.argsort(-scores, kind='mergesort')
                dtm = np.concatenate([e['dtMatches'][:, 0:md] for e in E], axis=1)[:, inds]
                dt_ig = np.concatenate([e['dtIgnore'][:, 0:md] for e in E], axis=1)[:, inds]
                gt_ig = np.concatenate([e['gtIgnore'] for e in E])
                npig = np.count_nonzero(gt_ig == 0)
                if npig == 0:
                    continue
                tps = np.logical_and(dtm, np.logical_not(dt_ig))
                fps = np.logical_and(np.logical_not(dtm), np.logical_not(dt_ig))
                tp_sum = np.cumsum(tps, axis=1).astype(float)
                fp_sum = np.cumsum(fps, axis=1).astype(float)
                for t, (tp, fp) in enumerate(zip(tp_sum, fp_sum)):
                    nd = len(tp)
                    rc = tp / npig
                    pr = tp / (fp + tp + np.spacing(1))
                    q = np.zeros((R,))
                    recall[t, k, a, m] = rc[-1] if nd else 0
                    pr = pr.tolist()
                    q = q.tolist()
                    for i in range(nd - 1, 0, -1):
                        if pr[i] > pr[i - 1]:
                            pr[i - 1] = pr[i]
                    idx = np.searchsorted(rc, rec_thrs, side='left')
                    try:
                        for ri, pi in enumerate(idx):
                            q[ri] = pr[pi]
                    except IndexError:
                        pass
                    precision[t, :, k, a, m] = np.array(q)

    def summ(ap, iou_thr=None, area=0, md=100):
        mi = max_dets.index(md)
        if ap:
            s = precision
            if iou_thr is not None:
                s = s[np.where(iou_thr == iou_thrs)[0]]
            s = s[:, :, :, area, mi]
        else:
            s = recall
            if iou_thr is not None:
                s = s[np.where(iou_thr == iou_thrs)[0]]
            s = s[:, :, area, mi]
        return -1.0 if len(s[s > -1]) == 0 else float(np.mean(s[s > -1]))

    stats = [summ(1), summ(1, .5), summ(1, .75), summ(1, area=1), summ(1, area=2), summ(1, area=3),
             summ(0, md=1), summ(0, md=10), summ(0), summ(0, area=1), summ(0, area=2), summ(0, area=3)]
    # Per category: precision at IoU .5 over the recall thresholds (all areas, the most detections).
    return {'stats': stats, 'pr50': precision[0, :, :, 0, -1].T.tolist()}


cases = json.load(open(sys.argv[1]))
print(json.dumps([evaluate(c['gt'], c['dets']) for c in cases]))
