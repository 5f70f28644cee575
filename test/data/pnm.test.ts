/**
 * Netpbm (PBM, PGM, PPM), which sharp cannot load, against PIL (torchvision's loader): the files
 * PIL writes, and plain, scaled (maxval 100, 1000), 16-bit and commented files built here, each
 * compared with what PIL gives after convert('RGB') and convert('L'). Then the bounds: truncated,
 * oversized and garbage files are located errors, and never hang.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import '../../src/data';
import { decodeImage } from '../../src/data/decode';
import { isImageFile, sniffImageFormat } from '../../src/data/formats';
import { inspectSource } from '../../src/data/inspect';
import { pythonHas, runPython } from './python';
import { tempFiles } from '../helpers/tmp';
import { openSource } from './helpers';
import { openImageFolder } from '../../src/data/sources/imageFolder';
import { packSource } from '../../src/data/tfrecord/pack';
import { listImages } from '../../src/export/retrieve';
import { readMask } from '../../src/data/masks/decode';
import { decodeMaskPng } from '../../src/data/masks/png';

const t = tempFiles({});
afterAll(() => t.cleanup());

const hasPil = pythonHas('PIL');

/** Writes every test file into the folder, then PIL's RGB and L pixels of each beside it; prints the names. */
const MAKE = String.raw`
import sys, random
from PIL import Image
random.seed(2)
out = sys.argv[1]
w, h = 13, 7
n = w * h
rgb = Image.new('RGB', (w, h))
rgb.putdata([(random.randrange(256), random.randrange(256), random.randrange(256)) for _ in range(n)])
files = {}
# What PIL writes: P6, P5 and P4.
rgb.save(out + '/pil.ppm')
rgb.convert('L').save(out + '/pil.pgm')
rgb.convert('1').save(out + '/pil.pbm')
files['pil.ppm'] = files['pil.pgm'] = files['pil.pbm'] = None
def header(magic, maxval=None, comments=False):
    if comments:
        # Comments between the values, inside one (the width), and tabs and CRs as separators.
        s = magic + b'\n# made by the test\n' + str(w)[:1].encode() + b'#split\n' + str(w)[1:].encode() + b'\t\r\n  # height next\n' + str(h).encode()
    else:
        s = magic + b'\n' + b'%d %d' % (w, h)
    if maxval is not None:
        s += (b' #maxval\n' if comments else b'\n') + str(maxval).encode()
    return s + b'\n'
def samples(count, maxval, over=False):
    top = maxval
    vals = [random.randrange(top + 1) for _ in range(count)]
    vals[:3] = [0, maxval, maxval // 2]
    if over:
        # Binary samples over maxval: PIL scales and clips them.
        vals[3] = 255 if maxval < 256 else 65535
    return vals
def binary(vals, maxval):
    return b''.join(bytes([v]) if maxval < 256 else v.to_bytes(2, 'big') for v in vals)
def plain(vals):
    lines = [b' '.join(str(v).encode() for v in vals[i:i + 7]) for i in range(0, len(vals), 7)]
    return b'\n# a comment in the pixels\n'.join(lines) + b'\n'
bits = [random.randrange(2) for _ in range(n)]
files['p1.pbm'] = header(b'P1', comments=True) + b''.join(b'%d' % v + (b'\n' if i % 9 == 8 else b'') for i, v in enumerate(bits))
packed = b''
for y in range(h):
    row = bits[y * w:(y + 1) * w] + [0] * (-w % 8)
    packed += bytes(int(''.join(map(str, row[i:i + 8])), 2) for i in range(0, len(row), 8))
files['p4.pbm'] = header(b'P4', comments=True) + packed
for maxval in [255, 100, 1000, 65535]:
    files['p2-%d.pgm' % maxval] = header(b'P2', maxval, True) + plain(samples(n, maxval))
    files['p3-%d.ppm' % maxval] = header(b'P3', maxval) + plain(samples(3 * n, maxval))
    files['p5-%d.pgm' % maxval] = header(b'P5', maxval, True) + binary(samples(n, maxval, True), maxval)
    files['p6-%d.ppm' % maxval] = header(b'P6', maxval) + binary(samples(3 * n, maxval, True), maxval)
# 16-bit grey with small values, so that PIL's clipping at 255 is not all there is to see.
files['p5-small.pgm'] = header(b'P5', 65535) + binary([random.randrange(300) for _ in range(n)], 65535)
files['p5-1.pnm'] = header(b'P5', 1) + binary([random.randrange(2) for _ in range(n)], 1)
for name, data in files.items():
    if data is not None:
        open(out + '/' + name, 'wb').write(data)
    im = Image.open(out + '/' + name)
    assert im.size == (w, h), name
    open(out + '/' + name + '.rgb', 'wb').write(im.convert('RGB').tobytes())
    open(out + '/' + name + '.l', 'wb').write(im.convert('L').tobytes())
    print(name, im.mode)
`;

let names: string[] = [];
beforeAll(() => {
  if (hasPil) names = runPython(MAKE, [t.dir]).trim().split('\n').map((l) => l.split(' ')[0]);
});

const decode = (path: string, channels: number) => decodeImage({ kind: 'file', path }, channels, path);

describe.skipIf(!hasPil)('PNM against PIL', () => {
  it('decodes P1 to P6, maxval 1, 100, 255, 1000 and 65535, to the RGB and L pixels PIL gives', async () => {
    expect(names.length).toBe(23);
    for (const name of names) {
      for (const [channels, ext] of [[3, 'rgb'], [1, 'l']] as const) {
        const img = await decode(t.file(name), channels);
        expect([img.width, img.height, img.channels], name).toEqual([13, 7, channels]);
        const pil = fs.readFileSync(t.file(`${name}.${ext}`));
        expect(Array.from(img.data as Uint8Array), `${name} ${ext}`).toEqual(Array.from(pil));
      }
    }
  });

  it('16-bit grey is clipped at 255 as PIL converts its mode I, 16-bit colour is scaled', async () => {
    const grey = await decode(t.file('p5-65535.pgm'), 1);
    expect(grey.data[1]).toBe(255); // maxval
    expect(grey.data[2]).toBe(255); // maxval / 2: PIL clips, not scales
    const colour = await decode(t.file('p6-65535.ppm'), 3);
    expect(Array.from(colour.data.slice(0, 3))).toEqual([0, 255, 127]); // 32767 / 65535 * 255 = 127.498
  });

  it('an ImageFolder lists .ppm, .pgm, .pbm and .pnm files and reads them through the source', async () => {
    for (const [from, to] of [['pil.ppm', 'cat/a.ppm'], ['p2-100.pgm', 'cat/b.pgm'], ['p4.pbm', 'dog/c.pbm'], ['p5-1.pnm', 'dog/d.PNM']]) {
      fs.mkdirSync(t.file('folder/cat'), { recursive: true });
      fs.mkdirSync(t.file('folder/dog'), { recursive: true });
      fs.copyFileSync(t.file(from), t.file(`folder/${to}`));
    }
    const { source } = await openSource({ type: 'ImageFolder', root: t.file('folder') });
    expect(source.classes).toEqual(['cat', 'dog']);
    expect(source.length).toBe(4);
    const item = await source.item(0);
    expect(item.label).toBe(0);
    const img = await decodeImage(item.image, source.channels, item.where);
    expect(Buffer.from(img.data as Uint8Array).equals(fs.readFileSync(t.file('pil.ppm.rgb')))).toBe(true);
    const report = await inspectSource(source, { check: true });
    expect(report.bad).toEqual([]);
    expect(report.sizes).toEqual([{ width: 13, height: 7, count: 4 }]);
  });

  it('packs PNM into TFRecord byte for byte and reads it back; retrieval lists PNM files', async () => {
    const { source } = await openSource({ type: 'ImageFolder', root: t.file('folder') });
    await packSource(source, { out: t.file('shards'), shards: 1, shuffle: false });
    const { source: packed } = await openSource({ type: 'TFRecord', files: t.file('shards') });
    expect(packed.length).toBe(4);
    for (let i = 0; i < 4; i++) {
      const [a, b] = [await source.item(i), await packed.item(i)];
      expect(b.label).toBe(a.label);
      const [x, y] = [await decodeImage(a.image, 3, a.where), await decodeImage(b.image, 3, b.where)];
      expect(Buffer.from(y.data as Uint8Array).equals(Buffer.from(x.data as Uint8Array)), a.where).toBe(true);
    }
    expect(listImages([t.file('folder')]).map((f) => f.slice(t.file('folder').length + 1))).toEqual(['cat/a.ppm', 'cat/b.pgm', 'dog/c.pbm', 'dog/d.PNM']);
  });
});

describe('PGM masks', () => {
  it('SegFolder reads 8-bit PGM masks as their values (class indices), packs them as PNG, refuses other Netpbm masks', async () => {
    const values = [0, 1, 2, 255, 7, 3];
    fs.mkdirSync(t.file('seg/images'), { recursive: true });
    fs.mkdirSync(t.file('seg/masks'), { recursive: true });
    fs.writeFileSync(t.file('seg/images/a.ppm'), Buffer.concat([Buffer.from('P6 3 2 255\n'), Buffer.alloc(18, 9)]));
    fs.writeFileSync(t.file('seg/masks/a.pgm'), Buffer.concat([Buffer.from('P5\n# classes\n3 2\n255\n'), Buffer.from(values)]));
    const { source } = await openSource({ type: 'SegFolder', root: t.file('seg'), mask_suffix: '.pgm' });
    const item = await source.item(0);
    const read = readMask(item.mask!, item.where);
    expect([read.mask.width, read.mask.height, Array.from(read.mask.data)]).toEqual([3, 2, values]);
    expect(read.bytes).toBeUndefined(); // not a PNG to store as it is
    if (hasPil) expect(JSON.parse(runPython(`import sys; from PIL import Image; print(list(Image.open(sys.argv[1]).tobytes()))`, [t.file('seg/masks/a.pgm')]))).toEqual(values);
    await packSource(source, { out: t.file('seg-shards'), shards: 1 });
    const { source: packed } = await openSource({ type: 'TFRecord', files: t.file('seg-shards') });
    const back = await packed.item(0);
    expect(Array.from(readMask(back.mask!, back.where).mask.data)).toEqual(values);
    expect(Array.from(decodeMaskPng((back.mask as { bytes: Uint8Array }).bytes).data)).toEqual(values);
    // reduce_zero_label on a PGM as on a PNG
    expect(Array.from(readMask(item.mask!, item.where, true).mask.data)).toEqual([255, 0, 1, 255, 6, 2]);
    fs.writeFileSync(t.file('m100.pgm'), 'P2 2 1 100\n3 4\n');
    expect(() => readMask({ kind: 'file', path: t.file('m100.pgm') }, 'x')).toThrow(/^x: mask .*m100\.pgm: P2 file with maxval 100: Netpbm masks must be 8-bit PGMs \(P5 or P2, maxval 255\) whose values are class indices$/);
    fs.writeFileSync(t.file('m.ppm'), 'P3 1 1 255\n3 4 5\n');
    expect(() => readMask({ kind: 'file', path: t.file('m.ppm') }, 'x')).toThrow(/P3 file with maxval 255: Netpbm masks must be 8-bit PGMs/);
    fs.writeFileSync(t.file('mcut.pgm'), 'P5 3 2 255\n\0\0');
    expect(() => readMask({ kind: 'file', path: t.file('mcut.pgm') }, 'x')).toThrow(/^x: mask .*mcut\.pgm: truncated PNM: 13 bytes, the pixel data needs 17$/);
  });
});

describe('PNM bounds', () => {
  const bad = (name: string, bytes: string | Uint8Array) => {
    fs.writeFileSync(t.file(name), bytes);
    return decode(t.file(name), 3);
  };

  it('an empty image folder names the Netpbm extensions it looked for', () => {
    fs.mkdirSync(t.file('empty'), { recursive: true });
    expect(() => openImageFolder(t.file('empty'), { labelled: false })).toThrow(/no image files found below it \(looked for .*\.bmp, \.tif, \.tiff, \.ppm, \.pgm, \.pbm, \.pnm\)/);
  });

  it('knows the extensions and the magic numbers', () => {
    for (const name of ['a.ppm', 'b.PGM', 'c.pbm', 'd.pnm']) expect(isImageFile(name), name).toBe(true);
    for (const head of ['P1\n', 'P4 ', 'P6\t', 'P3\r']) expect(sniffImageFormat(Buffer.from(head)), head).toBe('pnm');
    for (const head of ['P7\n', 'P6x', 'P0 ', 'P6']) expect(sniffImageFormat(Buffer.from(head)), head).toBeUndefined();
  });

  it('refuses truncated files, with the file', async () => {
    const p6 = Buffer.concat([Buffer.from('P6\n4 4\n255\n'), Buffer.alloc(47)]);
    await expect(bad('cut.ppm', p6)).rejects.toThrow(/^.*cut\.ppm: cannot decode .*cut\.ppm: truncated PNM: 58 bytes, the pixel data needs 59$/);
    const p5 = Buffer.concat([Buffer.from('P5 2 2 65535 '), Buffer.alloc(7)]);
    await expect(bad('cut16.pgm', p5)).rejects.toThrow(/truncated PNM: 20 bytes, the pixel data needs 21/);
    await expect(bad('cut.pbm', Buffer.from('P4 9 2\n\xff\xff\xff', 'latin1'))).rejects.toThrow(/truncated PNM: 10 bytes, the pixel data needs 11/);
    await expect(bad('cut-plain.pgm', 'P2 2 2 255\n1 2 3')).rejects.toThrow(/truncated PNM: 16 bytes, the pixel data needs at least 18/);
    await expect(bad('cut-plain2.pgm', 'P2 2 2 255\n1 2 3      ')).rejects.toThrow(/truncated PNM: the pixel data ends after 3 of 4 samples/);
    await expect(bad('cut-p1.pbm', 'P1 3 2\n1 0 1 0 1\n\n')).rejects.toThrow(/truncated PNM: the pixel data ends after 5 of 6 pixels/);
    await expect(bad('header.ppm', 'P6\n4 4\n')).rejects.toThrow(/truncated PNM: the header ends before the maxval/);
    await expect(bad('header2.ppm', 'P6 # a comment that never ends')).rejects.toThrow(/truncated PNM: the header ends before the width/);
  });

  it('refuses header values out of range and images over the pixel limit before allocating', async () => {
    await expect(bad('zero.pgm', 'P5 0 4 255\n')).rejects.toThrow(/empty PNM: 0x4 pixels/);
    await expect(bad('max0.pgm', 'P5 1 1 0\n\0')).rejects.toThrow(/PNM maxval 0 is out of range: it must be 1 to 65535/);
    await expect(bad('max.pgm', 'P5 1 1 65536\n\0\0')).rejects.toThrow(/PNM maxval 65536 is out of range/);
    await expect(bad('neg.pgm', 'P5 -1 1 255\n\0')).rejects.toThrow(/PNM width is not a whole number: "-1"/);
    // 10^9 x 10^9 pixels in a 30-byte file: refused by the header alone.
    await expect(bad('huge.ppm', 'P6 1000000000 1000000000 255\n')).rejects.toThrow(/the image is 1000000000x1000000000 = 1,000,000,000,000,000,000 pixels, more than the limit of 100,000,000 \(set CVW_MAX_IMAGE_PIXELS to raise it\)/);
    await expect(bad('long.ppm', 'P6 12345678901 1 255\n')).rejects.toThrow(/PNM width is too long: "12345678901"/);
  });

  it('refuses garbage, and a header of only digits or whitespace ends at once', async () => {
    await expect(bad('over.pgm', 'P2 2 1 100\n50 101\n')).rejects.toThrow(/PNM sample 1 is 101, over the maxval of 100/);
    await expect(bad('letters.ppm', 'P3 1 1 255\n1 x 3\n')).rejects.toThrow(/PNM sample 1 is not a whole number: "x"/);
    await expect(bad('bits.pbm', 'P1 2 1\n1 2\n')).rejects.toThrow(/PNM bitmap pixel 1 is not 0 or 1: "2"/);
    await expect(bad('word.pgm', 'P5 width 1 255\n\0')).rejects.toThrow(/PNM width is not a whole number: "width"/);
    const started = Date.now();
    await expect(bad('digits.pgm', `P5 ${'9'.repeat(4 << 20)}`)).rejects.toThrow(/PNM width is too long: "99999999999"/);
    await expect(bad('spaces.pgm', `P5${' \n\t'.repeat(4 << 20)}`)).rejects.toThrow(/truncated PNM: the header ends before the width/);
    await expect(bad('ones.pgm', `P2 1 1 1${' 1'.repeat(4 << 20)}`)).resolves.toMatchObject({ width: 1, height: 1 });
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
