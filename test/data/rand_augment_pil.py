"""PIL side of test/data/randAugment.test.ts: timm's RandAugment operations (its auto_augment.py) as
PIL computes them, on a 23x31 RGB image, with fixed arguments and bilinear resampling; prints the
input and each result as JSON."""
import json, numpy as np
from PIL import Image, ImageOps, ImageEnhance
rng = np.random.RandomState(0)
y, x = np.mgrid[0:23, 0:31]
arr = np.clip(np.stack([x * 8, y * 10, (x + y) * 4], -1) + rng.randint(0, 40, (23, 31, 3)), 0, 255).astype(np.uint8)
img = Image.fromarray(arr)
fill = (124, 116, 104)
B = Image.BILINEAR
tf = lambda m: img.transform(img.size, Image.AFFINE, m, resample=B, fillcolor=fill)
cases = {
    'AutoContrast': (0, ImageOps.autocontrast(img)),
    'Equalize': (0, ImageOps.equalize(img)),
    'Invert': (0, ImageOps.invert(img)),
    'Rotate': (-17.5, img.rotate(-17.5, resample=B, fillcolor=fill)),
    'Posterize': (2, ImageOps.posterize(img, 2)),
    'Solarize': (100, ImageOps.solarize(img, 100)),
    'SolarizeAdd': (60, img.point([min(255, i + 60) if i < 128 else i for i in range(256)] * 3)),
    'Color': (1.7, ImageEnhance.Color(img).enhance(1.7)),
    'Contrast': (0.4, ImageEnhance.Contrast(img).enhance(0.4)),
    'Brightness': (1.3, ImageEnhance.Brightness(img).enhance(1.3)),
    'Sharpness': (1.8, ImageEnhance.Sharpness(img).enhance(1.8)),
    'ShearX': (0.21, tf((1, 0.21, 0, 0, 1, 0))),
    'ShearY': (-0.18, tf((1, 0, 0, -0.18, 1, 0))),
    'TranslateXRel': (0.3, tf((1, 0, 0.3 * 31, 0, 1, 0))),
    'TranslateYRel': (-0.25, tf((1, 0, 0, 0, 1, -0.25 * 23))),
}
print(json.dumps({'input': arr.tolist(), 'ops': {k: [a, np.asarray(o).tolist()] for k, (a, o) in cases.items()}}))
