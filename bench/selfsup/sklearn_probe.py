"""Cross-check of `cvw benchmark linear` (BENCHMARKS.md, "Self-supervised quality"): scikit-learn's
logistic regression (lbfgs, C 1, standardised features) on the features `cvw benchmark` cached in
<run>/benchmarks/features, one line per cached training/test pair (global pool and --pool 2 alike).

    /usr/bin/python3 bench/selfsup/sklearn_probe.py work_dirs/selfsup/simclr_fmnist_e1to5
"""
import glob, json, os, sys
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

features = os.path.join(sys.argv[1], 'benchmarks', 'features')
sets = {}
for npy in sorted(glob.glob(os.path.join(features, '*.npy'))):
    info = json.load(open(npy[:-4] + '.json'))
    split = os.path.basename(npy).split('-')[0]
    x = np.load(npy)
    sets.setdefault(x.shape[1], {})[split] = (x, np.array(info['labels']))
for dim, s in sorted(sets.items()):
    (xtr, ytr), (xte, yte) = s['train'], s['val']
    scaler = StandardScaler().fit(xtr)
    clf = LogisticRegression(max_iter=1000, C=1.0).fit(scaler.transform(xtr), ytr)
    print(f'{dim}-d features: {len(ytr)} train / {len(yte)} test, linear top-1 {clf.score(scaler.transform(xte), yte):.4f}', flush=True)
