/** Data inputs that announce little and expand to a lot, or nothing at all: bounded, located errors. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import '../../src/builtins';
import { decodeFailure, decodeImage } from '../../src/data/decode';
import { setMaxImagePixels } from '../../src/data/pixelLimit';
import { fetchDataset, RECIPES, type DatasetRecipe } from '../../src/data/fetch';
import { readIdx } from '../../src/data/sources/idx';
import { tarEntries } from '../../src/data/tar';
import { loadImage } from '../../src/export/predict/images';
import { PNG_SIGNATURE, pngChunk } from '../../src/report/png';
import { cvw } from '../helpers/cvw';
import { tempFiles } from '../helpers/tmp';
import { openSource, writeIdx } from './helpers';

const t = tempFiles({});
afterAll(() => t.cleanup());

/** A black 1-bit PNG of `w` x `h`: a few tens of KB that decode to `w * h * 3` bytes of RGB. */
function blackPng(w: number, h: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 1; // bit depth 1, grey
  const rows = Buffer.alloc(h * (1 + Math.ceil(w / 8)));
  return Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', ihdr), pngChunk('IDAT', zlib.deflateSync(rows, { level: 9 })), pngChunk('IEND', Buffer.alloc(0))]);
}

describe('image decoding has a pixel limit', () => {
  const png = t.file('huge.png');
  fs.writeFileSync(png, blackPng(16000, 16000));

  it('a 16000x16000 PNG of a few KB is refused before decoding, saying its size and how to raise the limit', async () => {
    expect(fs.statSync(png).size).toBeLessThan(64 << 10);
    const start = process.memoryUsage().rss;
    await expect(decodeImage({ kind: 'file', path: png }, 3, 'item 7')).rejects.toThrow(
      `item 7: cannot decode ${png}: the image is 16000x16000 = 256,000,000 pixels, more than the limit of 100,000,000 (set CVW_MAX_IMAGE_PIXELS to raise it)`,
    );
    // predict decodes through the same path
    await expect(loadImage(fs.readFileSync(png), 3, 'image #0')).rejects.toThrow(/^image #0: cannot decode .*16000x16000 = 256,000,000 pixels/);
    expect(process.memoryUsage().rss - start).toBeLessThan(256 << 20);
  });

  it('the limit can be raised (and lowered) for the process', async () => {
    fs.writeFileSync(t.file('small.png'), blackPng(300, 200));
    try {
      setMaxImagePixels(50_000);
      await expect(decodeImage({ kind: 'file', path: t.file('small.png') }, 1, 'x')).rejects.toThrow('the image is 300x200 = 60,000 pixels, more than the limit of 50,000');
      setMaxImagePixels(60_000);
      const img = await decodeImage({ kind: 'file', path: t.file('small.png') }, 1, 'x');
      expect([img.width, img.height, img.channels]).toEqual([300, 200, 1]);
    } finally {
      setMaxImagePixels(undefined);
    }
  });

  it('sharp\'s bare "Warning treated as error" (what concurrent decodes report for damaged data) is said in words', async () => {
    // libvips keeps one error buffer: with several images decoding at once (predict, the loader)
    // a damaged PNG's own message is often gone and only sharp's failOn note is left.
    const err = new Error('Input buffer has corrupt header: Warning treated as error due to failOn setting');
    expect(await decodeFailure(Buffer.alloc(8), err)).toBe('corrupt or truncated image data (the decoder warned; damaged images are refused rather than half-read)');
    expect(await decodeFailure(Buffer.alloc(8), new Error('Input buffer has corrupt header: pngload_buffer: end of stream'))).toBe('has corrupt header: pngload_buffer: end of stream');
  });

  it('0x0 images fail `cvw data inspect --check`, naming each item', async () => {
    fs.mkdirSync(t.file('empty'));
    writeIdx(t.file('empty/train-images-idx3-ubyte'), [2, 0, 0], new Uint8Array(0), false);
    writeIdx(t.file('empty/train-labels-idx1-ubyte'), [2], new Uint8Array([1, 2]), false);
    const r = await cvw('data', 'inspect', t.file('empty'), '--check', '-q');
    expect(r.code).toBe(1);
    expect(r.out + r.err).toContain(`${t.file('empty/train-images-idx3-ubyte')}[1]: empty image: 0x0 pixels`);
  });
});

describe('idx files', () => {
  it('a small .gz that expands far past what its header announces stops at the announced size', () => {
    const header = Buffer.from([0, 0, 8, 3, 0, 0, 0, 10, 0, 0, 0, 28, 0, 0, 0, 28]);
    const file = t.file('bomb-images-idx3-ubyte.gz');
    fs.writeFileSync(file, zlib.gzipSync(Buffer.concat([header, Buffer.alloc(64 << 20)]), { level: 9 }));
    expect(fs.statSync(file).size).toBeLessThan(128 << 10);
    const start = process.memoryUsage().rss;
    expect(() => readIdx(file)).toThrow(`${file}: the gzip data expands past the 7,856 bytes (10x28x28 plus a 16-byte header) that its idx header announces; stopped there`);
    expect(process.memoryUsage().rss - start).toBeLessThan(32 << 20);
  });

  it('a header that announces more than it holds, a FIFO and a damaged stream are located errors', () => {
    const lying = t.file('lying.gz');
    fs.writeFileSync(lying, zlib.gzipSync(Buffer.from([0, 0, 8, 1, 0, 0, 3, 0xe8, 1, 2, 3])));
    expect(() => readIdx(lying)).toThrow(`${lying}: truncated: the header announces 1000 = 1000 bytes of data but the file holds 3`);
    const huge = t.file('huge.gz');
    fs.writeFileSync(huge, zlib.gzipSync(Buffer.from([0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 9, 1])));
    expect(() => readIdx(huge)).toThrow(`${huge}: the idx header announces 4294967295x4294967295x9 bytes of data, more than fits in memory`);
    const fifo = t.file('fifo-idx1-ubyte');
    execFileSync('mkfifo', [fifo]);
    expect(() => readIdx(fifo)).toThrow(`idx file ${fifo} is a FIFO (named pipe); expected a regular file`);
    const damaged = t.file('damaged.gz');
    fs.writeFileSync(damaged, Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.alloc(30, 7)]));
    expect(() => readIdx(damaged)).toThrow(new RegExp(`^${damaged}: damaged gzip data`));
  });
});

describe('COCO annotations with malformed entries', () => {
  const open = async (json: unknown, skipCorrupt = false) => {
    const dir = t.file(`coco-${Math.random().toString(36).slice(2)}`);
    fs.mkdirSync(`${dir}/img`, { recursive: true });
    fs.writeFileSync(`${dir}/img/a.png`, blackPng(8, 8));
    fs.writeFileSync(`${dir}/ann.json`, JSON.stringify(json));
    return { dir, ...(await openSource({ type: 'COCO', ann_file: `${dir}/ann.json`, img_dir: `${dir}/img` }, { skipCorrupt })) };
  };
  const good = { id: 1, file_name: 'a.png', width: 8, height: 8 };
  const cats = [{ id: 1, name: 'thing' }];

  it('name the file and the JSON path of each bad entry', async () => {
    const json = {
      images: [good, null, { id: 3, width: 8, height: 8 }, { id: 'x', file_name: 'a.png', width: 8, height: 8 }],
      annotations: [{ id: 9, image_id: 1, category_id: 1, bbox: [1, 2, 3] }, 7],
      categories: cats,
    };
    const err = await open(json).then(
      () => undefined,
      (e: Error) => e.message,
    );
    expect(err).toMatch(/^5 problems in the COCO annotations/);
    const lines = err!.split('\n').slice(1).map((l) => l.trim().replace(/^\/.*ann\.json/, 'ann.json'));
    expect(lines).toEqual([
      'ann.json images[1]: expected a mapping {id, file_name, width, height}, got null',
      'ann.json images[2].file_name: expected the image\'s file name, got nothing',
      'ann.json images[3].id: expected an integer, got "x" (a string)',
      'ann.json annotation 9 (annotations[0].bbox): bbox must be [x, y, width, height], got a list of 3 (image 1)',
      'ann.json annotations[1]: expected a mapping {id, image_id, category_id, bbox}, got 7',
    ]);
  });

  it('with skip_corrupt the bad entries are counted and the good ones kept', async () => {
    const { source, skipped } = await open({ images: [good, null], annotations: [{ id: 9, image_id: 1, category_id: 1, bbox: [1, 1, 2, 2] }], categories: cats }, true);
    expect(source.length).toBe(1);
    expect(skipped.map((s) => s.reason)).toEqual(['expected a mapping {id, file_name, width, height}, got null']);
  });

  it('an unknown category_id among 100,000 categories lists a few ids, not all of them in every problem', async () => {
    // Every id in every problem: 20,000 such annotations (a 4 MB file) ran the heap out.
    const many = Array.from({ length: 100_000 }, (_, i) => ({ id: 1000 + i, name: 'c' }));
    const annotations = [1, 2, 3].map((id) => ({ id, image_id: 1, category_id: 5, bbox: [1, 1, 2, 2] }));
    const err = await open({ images: [good], annotations, categories: many }).then(
      () => '',
      (e: Error) => e.message,
    );
    expect(err).toMatch(/^3 problems in the COCO annotations/);
    expect(err).toMatch(/ann\.json annotation 1: unknown category_id 5 \(image 1\); categories are 1000, 1001, .*, 1019, \.\.\. \(100,000 in all\)\n/);
    expect(err.length).toBeLessThan(2000);
  });

  it('a file that is not a mapping, or categories without ids, fail as a whole', async () => {
    await expect(open(null)).rejects.toThrow(/ann\.json: expected a COCO instances file \(a mapping with "images" and "categories" lists\), got null/);
    await expect(open({ images: [good], categories: [{ name: 'x' }] })).rejects.toThrow(/ann\.json: categories\[0\]\.id: expected an integer, got nothing/);
  });
});

describe('cvw data fetch caps a download at the recipe size', () => {
  const serve = (body: Buffer, withLength: boolean) => {
    const server = http.createServer((_req, res) => {
      res.writeHead(200, withLength ? { 'content-length': body.length } : {});
      // in pieces, so that a streamed response (no length) is cut while it arrives
      for (let o = 0; o < body.length; o += 16 << 10) res.write(body.subarray(o, o + (16 << 10)));
      res.end();
    });
    return new Promise<{ url: string; close(): Promise<void> }>((resolve) =>
      server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, close: () => new Promise((r) => server.close(() => r())) })),
    );
  };

  for (const withLength of [true, false]) {
    it(`aborts ${withLength ? 'when the announced length is larger' : 'a streamed response once it passes the size'} and keeps nothing`, async () => {
      const recipe: DatasetRecipe = { ...RECIPES['fashion-mnist'], files: [{ name: 'x.bin', sha256: 'a'.repeat(64), size: 1000 }] };
      const server = await serve(Buffer.alloc(1 << 20, 1), withLength);
      const dir = t.file(`dl-${withLength}`);
      try {
        await expect(fetchDataset(recipe, { dir, mirrors: [server.url] })).rejects.toThrow(/could not download x\.bin: download of .*x\.bin failed: the server sends [\d,]+ bytes or more for x\.bin, but the recipe declares 1,000; download aborted and the partial file removed/);
        expect(fs.readdirSync(dir)).toEqual([]);
      } finally {
        await server.close();
      }
    });
  }
});

describe('cvw data fetch bounds what an archive unpacks to', () => {
  it('a gzip that unpacks past the limit (a recipe of an API caller, checksum right) is refused, naming the archive', async () => {
    // 4 MB of zeros in a 4 KB gzip: gunzipSync had no bound (a 1 MB gzip made a gigabyte).
    const from = t.file('bomb-from');
    fs.mkdirSync(from, { recursive: true });
    const bomb = zlib.gzipSync(Buffer.alloc(4 << 20));
    fs.writeFileSync(`${from}/bomb.tar.gz`, bomb);
    const sha256 = createHash('sha256').update(bomb).digest('hex');
    const recipe: DatasetRecipe = { ...RECIPES['fashion-mnist'], files: [{ name: 'bomb.tar.gz', sha256, size: bomb.length }], extract: 'bomb.tar.gz', ready: undefined };
    const dir = t.file('bomb-dir');
    await expect(fetchDataset(recipe, { dir, from, maxUnpackedBytes: 1 << 20 })).rejects.toThrow(/bomb\.tar\.gz: unpacks to more than 1,048,576 bytes \(the most a data set archive may hold here\); not unpacked/);
  });
});

/** One ustar header block for `name` with `size` written as given in its size field, checksum right. */
function tarHeader(name: string, size: string, flag = '0'): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0);
  h.write('0000644\0', 100);
  h.write(size.padEnd(11, ' ') + '\0', 124);
  h.write(flag, 156);
  h.write('ustar\u000000', 257);
  h.fill(' ', 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return h;
}

describe('tar archives', () => {
  it('a size field that is negative or not a number is a damaged header, never a loop over the same entry', () => {
    // "-1000" is -512 in octal: the next header was this one again, yielded (and written) forever.
    for (const size of ['-1000', '-2000', 'zz']) {
      const archive = Buffer.concat([tarHeader('a.txt', size), Buffer.alloc(1024)]);
      const seen: string[] = [];
      const read = () => {
        for (const e of tarEntries(archive, 'x.tar')) if (seen.push(e.name) > 10) break;
      };
      expect(read, size).toThrow(`x.tar: damaged tar header at byte 0: its size field "${size}" is not a size in octal`);
      expect(seen).toEqual([]);
    }
    const good = Buffer.concat([tarHeader('a.txt', '3'), Buffer.from('abc'.padEnd(512, '\0')), Buffer.alloc(1024)]);
    expect([...tarEntries(good, 'x.tar')].map((e) => [e.name, Buffer.from(e.data).toString()])).toEqual([['a.txt', 'abc']]);
  });
});
