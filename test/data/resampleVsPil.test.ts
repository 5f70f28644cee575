/**
 * The resampler against PIL itself: float ('F') images cropped and resized with PIL's bilinear,
 * bicubic and nearest filters, which torchvision's RandomResizedCrop and Resize use on PIL images.
 */
import { describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random';
import { resampleRect, type Interpolation } from '../../src/data/pipeline/resample';
import { pythonHas, runPython } from './python';

const hasPil = pythonHas('PIL');

const SCRIPT = `
import json, sys
from PIL import Image
spec = json.loads(sys.stdin.read())
img = Image.new('F', (spec['w'], spec['h']))
img.putdata(spec['data'])
filters = {'bilinear': Image.BILINEAR, 'bicubic': Image.BICUBIC, 'nearest': Image.NEAREST}
out = []
for c in spec['cases']:
    x0, y0, cw, ch, ow, oh = c['rect']
    r = img.crop((x0, y0, x0 + cw, y0 + ch)).resize((ow, oh), filters[c['mode']])
    out.append(list(r.getdata()))
print(json.dumps(out))
`;

describe.skipIf(!hasPil)('resampling matches PIL on float images', () => {
  it('over crops, upscales, downscales and odd ratios', () => {
    const rng = new Random(11);
    const w = 23;
    const h = 17;
    const data = Array.from({ length: w * h }, () => Math.round(rng.uniform(0, 255) * 100) / 100);
    const img = { data: new Float32Array(data), width: w, height: h, channels: 1 };
    const cases: Array<{ rect: number[]; mode: Interpolation }> = [];
    for (const mode of ['bilinear', 'bicubic', 'nearest'] as Interpolation[]) {
      cases.push({ rect: [0, 0, w, h, 7, 5], mode }); // strong shrink
      cases.push({ rect: [0, 0, w, h, 40, 31], mode }); // enlarge
      cases.push({ rect: [3, 2, 11, 9, 6, 13], mode }); // crop, shrink x, enlarge y
      cases.push({ rect: [5, 4, 13, 12, 96, 96], mode }); // RandomResizedCrop-like
    }
    const expected = JSON.parse(runPython(SCRIPT, [], JSON.stringify({ w, h, data, cases }))) as number[][];
    cases.forEach((c, i) => {
      const [x0, y0, cw, ch, ow, oh] = c.rect;
      const got = Array.from(resampleRect(img, x0, y0, cw, ch, ow, oh, c.mode));
      expect(got.length).toBe(expected[i].length);
      const worst = Math.max(...got.map((v, k) => Math.abs(v - expected[i][k])));
      expect(worst, `${c.mode} ${c.rect.join(',')}`).toBeLessThan(2e-3);
    });
  });
});
