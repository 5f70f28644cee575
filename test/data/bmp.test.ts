/**
 * BMP, which sharp cannot load, against PIL (torchvision's loader): files PIL writes in each mode,
 * and the forms PIL reads but does not write (top-down rows, 16-bit bit fields), built by hand.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import { decodeImage } from '../../src/data/decode';
import { openImageFolder } from '../../src/data/sources/imageFolder';
import { pythonHas, runPython } from './python';
import { tempFiles } from '../helpers/tmp';

const t = tempFiles({});
afterAll(() => t.cleanup());

const hasPil = pythonHas('PIL');

describe.skipIf(!hasPil)('BMP against PIL', () => {
  it('decodes the 1-, 8-, 24- and 32-bit files PIL writes to the RGB pixels PIL reads from them', async () => {
    const script = `
import sys, random
from PIL import Image
random.seed(1)
w, h = 13, 7
rgb = Image.new('RGB', (w, h))
rgb.putdata([(random.randrange(256), random.randrange(256), random.randrange(256)) for _ in range(w * h)])
out = sys.argv[1]
rgb.save(out + '/rgb24.bmp')
rgb.convert('L').save(out + '/grey8.bmp')
rgb.convert('P', palette=Image.ADAPTIVE, colors=16).save(out + '/pal8.bmp')
rgb.convert('1').save(out + '/mono1.bmp')
rgb.convert('RGBA').save(out + '/rgba32.bmp')
for name in ['rgb24', 'grey8', 'pal8', 'mono1', 'rgba32']:
    im = Image.open(out + '/' + name + '.bmp').convert('RGB')
    open(out + '/' + name + '.rgb', 'wb').write(im.tobytes())
`;
    runPython(script, [t.dir]);
    for (const name of ['rgb24', 'grey8', 'pal8', 'mono1', 'rgba32']) {
      const img = await decodeImage({ kind: 'file', path: t.file(`${name}.bmp`) }, 3, name);
      expect([img.width, img.height], name).toEqual([13, 7]);
      expect(Buffer.from(img.data as Uint8Array).equals(fs.readFileSync(t.file(`${name}.rgb`))), name).toBe(true);
    }
  });

  it('reads top-down rows and 16-bit 5-6-5 bit fields', async () => {
    // 2x2, 16 bits, BI_BITFIELDS (masks 0xf800, 0x07e0, 0x001f), height -2 (top-down).
    const header = Buffer.alloc(14 + 40 + 12);
    header.write('BM', 0, 'latin1');
    const stride = 4;
    header.writeUInt32LE(header.length + 2 * stride, 2);
    header.writeUInt32LE(header.length, 10);
    header.writeUInt32LE(40, 14);
    header.writeInt32LE(2, 18);
    header.writeInt32LE(-2, 22);
    header.writeUInt16LE(1, 26);
    header.writeUInt16LE(16, 28);
    header.writeUInt32LE(3, 30);
    [0xf800, 0x07e0, 0x001f].forEach((m, i) => header.writeUInt32LE(m, 54 + 4 * i));
    const px = Buffer.alloc(2 * stride);
    [0xf800, 0x07e0, 0x001f, 0xffff].forEach((v, i) => px.writeUInt16LE(v, (i >> 1) * stride + 2 * (i & 1)));
    fs.writeFileSync(t.file('565.bmp'), Buffer.concat([header, px]));
    const pil = runPython(`import sys; from PIL import Image; print(list(Image.open(sys.argv[1]).convert('RGB').tobytes()))`, [t.file('565.bmp')]);
    const img = await decodeImage({ kind: 'file', path: t.file('565.bmp') }, 3, '565');
    expect(Array.from(img.data as Uint8Array)).toEqual(JSON.parse(pil));
    expect(Array.from(img.data as Uint8Array)).toEqual([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255]);
  });

  it('an image folder lists BMPs; a truncated or RLE file is a located error', async () => {
    fs.mkdirSync(t.file('folder/a'), { recursive: true });
    fs.copyFileSync(t.file('rgb24.bmp'), t.file('folder/a/x.bmp'));
    const source = openImageFolder(t.file('folder'));
    expect(source.length).toBe(1);
    fs.writeFileSync(t.file('cut.bmp'), fs.readFileSync(t.file('rgb24.bmp')).subarray(0, 100));
    await expect(decodeImage({ kind: 'file', path: t.file('cut.bmp') }, 3, 'cut.bmp')).rejects.toThrow(/^cut\.bmp: cannot decode .*cut\.bmp: truncated BMP: 100 bytes, the pixel data needs \d+/);
    const rle = fs.readFileSync(t.file('pal8.bmp'));
    rle.writeUInt32LE(1, 30);
    await expect(decodeImage({ kind: 'encoded', bytes: rle }, 3, 'rle.bmp')).rejects.toThrow(/RLE-compressed BMP is not supported: save it uncompressed or as PNG/);
  });
});
