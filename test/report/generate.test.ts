/**
 * `cvw report` on real runs (a freshly initialised classifier on Fashion-MNIST images, a SimCLR
 * model on the image folder sample): its predictions are the Classifier's, its neighbours the
 * brute-force nearest by cosine similarity, its thumbnails real PNGs of the dataset's images, its
 * projection numpy's PCA; and the CLI writes the standalone HTML.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import '../../src/builtins';
import { main } from '../../src/cli/main';
import { Classifier, FeatureExtractor } from '../../src/export/predict';
import { ensureBackend } from '../../src/export/source';
import { generateReport, nearest } from '../../src/report/generate';
import { spreadIndices } from '../../src/data/browse';
import { readReportData } from '../../src/report/runFiles';
import { evaluate } from '../../src/eval/evaluate';
import { readRunEvaluation } from '../../src/report/evalFiles';
import { FASHION_DATA, fashionImages, imagesData, makeRun } from '../export/helpers';

let tmp: string;
let clsRun: string;
let sslRun: string;

beforeAll(async () => {
  await ensureBackend('wasm');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cvw-report-'));
  makeRun(path.join(tmp, 'cls'), `model: { type: Classification, backbone: { type: ResNet, depth: 18, stem: cifar, in_channels: 1, base_width: 8 }, head: { type: ClsHead, num_classes: 10 } }\n${FASHION_DATA}`).dispose();
  clsRun = path.join(tmp, 'cls', 'run');
  makeRun(path.join(tmp, 'ssl'), `model: { type: SimCLR, backbone: { type: ResNet, depth: 18, base_width: 8, stem: cifar } }\n${imagesData(32)}`).dispose();
  sslRun = path.join(tmp, 'ssl', 'run');
});

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('helpers', () => {
  test('spreadIndices covers the set evenly and deterministically', () => {
    expect(spreadIndices(10, 4)).toEqual([0, 2, 5, 7]);
    expect(spreadIndices(3, 8)).toEqual([0, 1, 2]);
  });

  test('nearest ranks other rows by cosine similarity', () => {
    const rows = [Float32Array.of(1, 0), Float32Array.of(0.8, 0.6), Float32Array.of(0, 1), Float32Array.of(-1, 0)];
    expect(nearest(rows, 0, 2)).toEqual([
      { row: 1, similarity: expect.closeTo(0.8, 6) },
      { row: 2, similarity: 0 },
    ]);
  });
});

describe('a run folder that came with the workspace', () => {
  test('a report folder that links elsewhere is refused, naming it; nothing of the link\'s target is removed', async () => {
    const run = path.join(tmp, 'linked', 'run');
    fs.cpSync(clsRun, run, { recursive: true });
    const elsewhere = path.join(tmp, 'elsewhere');
    fs.mkdirSync(path.join(elsewhere, 'images'), { recursive: true });
    fs.writeFileSync(path.join(elsewhere, 'images', 'keep.txt'), 'mine');
    fs.rmSync(path.join(run, 'report'), { recursive: true, force: true });
    fs.symlinkSync(elsewhere, path.join(run, 'report'));
    await expect(generateReport(run, { gallery: 2, points: 4, queries: 1, neighbours: 1 })).rejects.toThrow(`${path.join(run, 'report')} is a symbolic link; a report is written only into the run's own folders (remove the link)`);
    expect(fs.readFileSync(path.join(elsewhere, 'images', 'keep.txt'), 'utf8')).toBe('mine');
    // An images folder that links elsewhere is refused too.
    fs.rmSync(path.join(run, 'report'));
    fs.mkdirSync(path.join(run, 'report'));
    fs.symlinkSync(path.join(elsewhere, 'images'), path.join(run, 'report', 'images'));
    await expect(generateReport(run, { gallery: 2, points: 4, queries: 1, neighbours: 1 })).rejects.toThrow('is a symbolic link');
    expect(fs.readdirSync(path.join(elsewhere, 'images'))).toEqual(['keep.txt']);
  });
});

describe('a classifier run', () => {
  test('gallery = the Classifier on the dataset images; thumbnails are those images', async () => {
    const { file, report } = await generateReport(clsRun, { gallery: 12, points: 40, queries: 3, neighbours: 4 });
    expect(file).toBe(path.join(clsRun, 'report', 'report.json'));
    expect(report.task).toBe('classification');
    expect(report.split).toBe('val');
    expect(report.classes).toHaveLength(10);
    expect(report.gallery).toHaveLength(12);
    // The gallery's images are spread over the 40 samples, which are spread over the test subset.
    const images = await fashionImages(500); // the sample's test subset
    const sampleIdx = spreadIndices(images.length, 40);
    const galleryIdx = spreadIndices(40, 12).map((r) => sampleIdx[r]);
    expect(report.gallery!.map((g) => g.index)).toEqual(galleryIdx);
    const clf = new Classifier(clsRun, { topk: 3 });
    const direct = await clf.predict(galleryIdx.map((i) => images[i]));
    await clf.dispose();
    report.gallery!.forEach((g, k) => {
      expect(g.predicted).toBe(direct[k].label);
      expect(g.score).toBeCloseTo(direct[k].score, 5);
      expect(g.topk.map((t) => t.label)).toEqual(direct[k].topk.map((t) => t.label));
      expect(g.correct).toBe(g.label === g.predicted);
    });
    expect(report.accuracy).toBeCloseTo(report.gallery!.filter((g) => g.correct).length / 12, 10);
    // A thumbnail holds the very pixels of its image.
    const sharp = (await import('sharp')).default;
    const g0 = report.gallery![0];
    const { data, info } = await sharp(path.join(clsRun, g0.image)).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([28, 28]);
    const grey = info.channels === 1 ? data : Uint8Array.from({ length: 28 * 28 }, (_v, i) => data[i * info.channels]);
    expect(Array.from(grey)).toEqual(Array.from(images[g0.index].data));
    // Features exist for classifiers too: retrieval and the projection.
    expect(report.retrieval).toHaveLength(3);
    expect(report.projection!.x).toHaveLength(40);
    // The panel's reader finds every image.
    const data2 = readReportData(clsRun, (rel) => rel);
    for (const rel of Object.keys(data2.images)) expect(fs.existsSync(path.join(clsRun, rel)), rel).toBe(true);
  });
});

describe('a self-supervised run', () => {
  test('retrieval = brute-force nearest neighbours of the FeatureExtractor; projection = numpy PCA', async () => {
    const { report } = await generateReport(sslRun, { points: 24, queries: 2, neighbours: 5 });
    expect(report.task).toBe('features');
    expect(report.gallery).toBeUndefined();
    const fx = new FeatureExtractor(sslRun);
    // data/images-sample, sorted as the ImageFolder source lists it.
    const root = path.resolve(__dirname, '../../data/images-sample');
    const files = fs.readdirSync(root).sort().flatMap((c) => fs.readdirSync(path.join(root, c)).sort().map((f) => path.join(root, c, f)));
    const idx = spreadIndices(files.length, 24);
    const emb = await fx.predict(idx.map((i) => files[i]));
    await fx.dispose();
    const queries = spreadIndices(idx.length, 2);
    report.retrieval!.forEach((q, k) => {
      expect(q.query.index).toBe(idx[queries[k]]);
      const expected = nearest(emb, queries[k], 5);
      expect(q.neighbours.map((n) => n.index)).toEqual(expected.map((e) => idx[e.row]));
      q.neighbours.forEach((n, j) => expect(n.similarity).toBeCloseTo(expected[j].similarity, 4));
      for (let j = 1; j < q.neighbours.length; j++) expect(q.neighbours[j].similarity).toBeLessThanOrEqual(q.neighbours[j - 1].similarity);
    });
    const p = report.projection!;
    expect(p.labels).toEqual(idx.map((i) => ['bag', 't-shirt', 'trouser'].indexOf(path.basename(path.dirname(files[i])))));
    // numpy: the same projection up to the sign of each axis, the same explained variance.
    const py = spawnSync('/usr/bin/python3', ['-c', 'import sys,json,numpy as np\nX=np.array(json.load(sys.stdin));X=X-X.mean(0)\nU,S,Vt=np.linalg.svd(X,full_matrices=False)\nv=S**2/(len(X)-1);print(json.dumps({"c":(X@Vt[:2].T).T.tolist(),"e":(v[:2]/v.sum()).tolist()}))'], { input: JSON.stringify(emb.map((e) => Array.from(e))), encoding: 'utf8' });
    expect(py.status, py.stderr).toBe(0);
    const ref = JSON.parse(py.stdout) as { c: number[][]; e: number[] };
    expect(p.explained[0]).toBeCloseTo(ref.e[0], 4);
    expect(p.explained[1]).toBeCloseTo(ref.e[1], 4);
    for (const [k, ours] of [p.x, p.y].entries()) {
      const sign = Math.sign(ours[0]) === Math.sign(ref.c[k][0]) ? 1 : -1;
      ours.forEach((v, i) => expect(v).toBeCloseTo(sign * ref.c[k][i], 3));
    }
  });
});

describe('cvw report', () => {
  test('--compare: two classifiers evaluated by `cvw eval` compared image by image; the per-image predictions are what Classifier says', async () => {
    makeRun(path.join(tmp, 'cls2'), `model: { type: Classification, backbone: { type: ResNet, depth: 18, stem: cifar, in_channels: 1, base_width: 8 }, head: { type: ClsHead, num_classes: 10 } }\n${FASHION_DATA}`, { seed: 2 }).dispose();
    const cls2 = path.join(tmp, 'cls2', 'run');
    const pipelines = [{ key: 'eval_pipelines', value: '[{split: val, evaluators: [{type: ClsEvaluator}]}]', arg: '--eval_pipelines' }];
    for (const run of [clsRun, cls2]) await evaluate(run, { overrides: pipelines });
    const [a, b] = [clsRun, cls2].map((r) => readRunEvaluation(r).predictions[0]);
    expect(a.index).toEqual([...Array(500).keys()]);
    // Dataset index i is image i of the set: the export's Classifier says the same of it.
    const images = await fashionImages(500);
    const rows = spreadIndices(500, 16);
    const clf = new Classifier(clsRun);
    const direct = await clf.predict(rows.map((i) => images[i]));
    await clf.dispose();
    rows.forEach((i, k) => {
      expect(a.predicted[i]).toBe(direct[k].label);
      expect(a.score[i]).toBeCloseTo(direct[k].score, 3);
    });
    let stdout = '';
    const write = process.stdout.write.bind(process.stdout);
    (process.stdout as { write: unknown }).write = (s: string) => ((stdout += s), true);
    try {
      expect(await main(['report', clsRun, '--compare', cls2, '--no-predict', '--json'])).toBe(0);
    } finally {
      (process.stdout as { write: unknown }).write = write;
    }
    expect(JSON.parse(stdout)).toEqual({ compare: path.join(clsRun, 'report', 'compare.json') });
    const cmp = readReportData(clsRun, () => undefined).comparison!;
    expect(cmp.labels).toEqual(['cls/run', 'cls2/run']);
    const diff = cmp.classes.splits[0].predictions[0];
    const changed = a.index.filter((_i, k) => a.predicted[k] !== b.predicted[k]).length;
    expect([diff.compared, diff.changed]).toEqual([500, changed]);
    expect(changed).toBeGreaterThan(0);
  }, 240_000);


  test('--html writes one standalone file with every image inlined', async () => {
    const out = path.join(tmp, 'report.html');
    const bundle = path.resolve(__dirname, '../../dist/webview/report.js');
    // The CLI inlines the built bundle; build it when this checkout has not.
    if (!fs.existsSync(bundle)) {
      const { bundleOptions } = await import('../../scripts/bundles.mjs' as string);
      const esbuild = await import('esbuild');
      for (const b of (bundleOptions as (r: string) => Array<{ entryPoints: string[] }>)(path.resolve(__dirname, '../..'))) if (String(b.entryPoints[0]).endsWith(path.join('webview', 'src', 'report.ts'))) await esbuild.build(b as object);
    }
    let stdout = '';
    const write = process.stdout.write.bind(process.stdout);
    (process.stdout as { write: unknown }).write = (s: string) => ((stdout += s), true);
    let code: number;
    try {
      code = await main(['report', clsRun, '--no-predict', '--html', out, '--json']);
    } finally {
      (process.stdout as { write: unknown }).write = write;
    }
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ html: out });
    const html = fs.readFileSync(out, 'utf8');
    expect(html).toContain('<script type="application/json" id="cvw-data">');
    expect(html.match(/data:image\/png;base64,/g)!.length).toBeGreaterThanOrEqual(12);
    expect(html).toMatch(/Content-Security-Policy" content="default-src &#39;none&#39;; img-src data:; script-src &#39;nonce-/);
  });
});
