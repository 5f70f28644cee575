"""torchvision side of test/data/trivialAugment.test.ts: torchvision's own TrivialAugmentWide
operation (transforms.autoaugment._apply_op, on a PIL image as its transform calls it) for each
(operation, signed magnitude, interpolation) case read from stdin, on a 23x31 RGB image; prints the
input, each result and torchvision's magnitude bins for 31 and 13 bins as JSON."""
import json, sys, numpy as np
from PIL import Image
from torchvision.transforms import InterpolationMode, TrivialAugmentWide
from torchvision.transforms.autoaugment import _apply_op
rng = np.random.RandomState(0)
y, x = np.mgrid[0:23, 0:31]
arr = np.clip(np.stack([x * 8, y * 10, (x + y) * 4], -1) + rng.randint(0, 40, (23, 31, 3)), 0, 255).astype(np.uint8)
img = Image.fromarray(arr)
modes = {'nearest': InterpolationMode.NEAREST, 'bilinear': InterpolationMode.BILINEAR}
out = [np.asarray(_apply_op(img, op, m, interpolation=modes[interp], fill=None)).tolist() for op, m, interp in json.loads(sys.stdin.read())]
bins = {n: {k: [float(v) for v in (m.reshape(-1) if m.ndim else [])] for k, (m, _) in TrivialAugmentWide()._augmentation_space(n).items()} for n in (31, 13)}
signed = {k: s for k, (_, s) in TrivialAugmentWide()._augmentation_space(31).items()}
print(json.dumps({'input': arr.tolist(), 'out': out, 'bins': bins, 'signed': signed}))
