/**
 * `cvw report <run>`: what the run report shows beyond the run's own files, computed from the
 * run's best (else latest) checkpoint on images of its evaluation set —
 *
 *   - a gallery of sample predictions with their images, right and wrong (classifiers);
 *   - nearest-neighbour retrieval for a few query images, by cosine similarity of the backbone's
 *     features (every model: the point of self-supervised ones);
 *   - a 2-D PCA projection of those features, coloured by class;
 *   - segmentors: image, truth and prediction overlays, and SegEvaluator's per-class table of the
 *     weights on the images read (src/report/segmentation.ts).
 *
 * Written to `<run>/report/report.json` with thumbnails in `<run>/report/images/`. It uses the
 * export's predictors (src/export/predict: Classifier, FeatureExtractor on the toolkit's own
 * model), so the pictures show what `cvw predict` would say. Runs in its own process (the editor
 * spawns it), never in the extension host.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../core/problems';
import { refuseLinks } from './insideDir';
import { build } from '../core/registry';
import type { ComponentConfig } from '../core/schema';
import type { DatasetPlan } from '../data/datasets';
import { dataSplit } from '../data/configSection';
import { decodeImage, loadSharp } from '../data/decode';
import { pathResolver } from '../data/loader';
import { spreadIndices } from '../data/browse';
import type { DataSource } from '../data/types';
import { Classifier, Detector, FeatureExtractor, type PixelImage } from '../export/predict';
import type { Box } from '../data/types';
import { drawBoxes, galleryEntry } from './detections';
import { segmentationReport } from './segmentation';
import { runCheckpoint } from '../export/source';
import { REPORT_DIR, REPORT_FILE, REPORT_VERSION, reportThumbnail, type GalleryItem, type GeneratedReport, type RetrievalQuery } from './model/report';
import { pca } from './pca';
import { encodePng } from './png';
import { readRunSummary } from './runFiles';
import { readRunConfig, runFile, writeAtomic } from '../rundir';
import { makeDirs } from '../core/makeDirs';

export interface GenerateReportOptions {
  /** The data split of the run's config to read (default `val`, else `test`, else `train`). */
  split?: string;
  /** Images in the gallery (default 48). */
  gallery?: number;
  /** Query images for retrieval (default 6) and neighbours shown per query (default 8). */
  queries?: number;
  neighbours?: number;
  /** Samples embedded for retrieval and the projection (default 1000). */
  points?: number;
  /** Longest side of a thumbnail in pixels (default 96; smaller images keep their size). */
  thumbnail?: number;
  log?: (message: string) => void;
}

interface Sample {
  index: number;
  label?: number;
  boxes?: Box[];
  pixels: PixelImage;
}

function datasetConfig(config: Record<string, unknown>, split: string | undefined, dir: string): { name: string; dataset: ComponentConfig } {
  const data = (config.data ?? {}) as Record<string, unknown>;
  const names = split ? [split] : ['val', 'test', 'train'];
  for (const name of names) {
    const d = dataSplit(data, name);
    if (d && typeof d === 'object' && typeof (d as { type?: unknown }).type === 'string') return { name, dataset: d as ComponentConfig };
  }
  throw new UserError(`${runFile(dir, 'config')} has no data.${split ?? 'val'}: the report needs images to predict (pass --split with a split the config has)`);
}

async function openSource(dataset: ComponentConfig, split: string, configDir: string | undefined): Promise<DataSource> {
  const plan = build<DatasetPlan>('dataset', dataset);
  return plan.source.open({ split, skipCorrupt: true, skip: () => undefined, resolvePath: pathResolver(configDir) });
}

async function readSample(source: DataSource, index: number): Promise<Sample> {
  const item = await source.item(index);
  const img = await decodeImage(item.image, source.channels, item.where);
  const data = new Uint8Array(img.data.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.max(0, Math.min(255, Math.round(img.data[i])));
  return { index, label: item.label, boxes: item.boxes, pixels: { data, width: img.width, height: img.height, channels: img.channels } };
}

async function writeThumbnail(dir: string, name: string, p: PixelImage, maxSide: number): Promise<string> {
  const rel = path.join(REPORT_DIR, 'images', name).split(path.sep).join('/');
  const channels = (p.channels ?? 3) as 1 | 3;
  const bytes = p.data as Uint8Array;
  if (Math.max(p.width, p.height) <= maxSide) {
    // Small images (the raw-pixel data sets) need no image library.
    writeAtomic(path.join(dir, rel), [encodePng(bytes, p.width, p.height, channels)]);
  } else {
    const sharp = loadSharp();
    const img = sharp(Buffer.from(bytes), { raw: { width: p.width, height: p.height, channels } }).resize({ width: maxSide, height: maxSide, fit: 'inside' });
    writeAtomic(path.join(dir, rel), [await img.png().toBuffer()]);
  }
  return rel;
}

/** Cosine similarities of L2-normalised rows: the `k` nearest other rows of row `q`. */
export function nearest(embeddings: Float32Array[], q: number, k: number): Array<{ row: number; similarity: number }> {
  const query = embeddings[q];
  const scored: Array<{ row: number; similarity: number }> = [];
  for (let i = 0; i < embeddings.length; i++) {
    if (i === q) continue;
    const e = embeddings[i];
    let s = 0;
    for (let j = 0; j < e.length; j++) s += e[j] * query[j];
    scored.push({ row: i, similarity: s });
  }
  return scored.sort((a, b) => b.similarity - a.similarity || a.row - b.row).slice(0, k);
}

export async function generateReport(dir: string, options: GenerateReportOptions = {}): Promise<{ file: string; report: GeneratedReport }> {
  const log = options.log ?? (() => undefined);
  const started = Date.now();
  const runDir = path.resolve(dir);
  const { config } = readRunConfig(runDir);
  if (!config) throw new UserError(`${runDir}: no readable config.yaml; is it a run directory?`);
  const checkpoint = runCheckpoint(runDir);
  const summary = readRunSummary(runDir, { config });
  const { name: split, dataset } = datasetConfig(config, options.split, runDir);
  const source = await openSource(dataset, split, summary.configFile ? path.dirname(summary.configFile) : undefined);
  const outDir = path.join(runDir, REPORT_DIR, 'images');
  refuseLinks(runDir, [REPORT_DIR, 'images']); // `report -> ~` would have the old images folder removed from the link's target
  fs.rmSync(outDir, { recursive: true, force: true });
  makeDirs(outDir);
  const thumbSide = options.thumbnail ?? 96;
  const galleryCount = options.gallery ?? 48;
  const points = Math.max(galleryCount, options.points ?? 1000);
  const features = new FeatureExtractor(runDir);
  try {
    const meta = await features.metadata();
    const task: GeneratedReport['task'] = meta.task;
    const indices = spreadIndices(source.length, points);
    log(`${runDir}: ${meta.model} (${task}) from ${path.basename(checkpoint)}, ${indices.length} of ${source.length} ${split} images`);
    const samples: Sample[] = [];
    for (const i of indices) samples.push(await readSample(source, i));
    const classes = source.classes ?? meta.classes;
    const report: GeneratedReport = { version: REPORT_VERSION, created: new Date().toISOString(), checkpoint, split, task, classes, seconds: 0 };
    const thumbs = new Map<number, string>();
    const thumbOf = async (row: number) => {
      let rel = thumbs.get(row);
      if (!rel) {
        const s = samples[row];
        rel = await writeThumbnail(runDir, path.basename(reportThumbnail(split, s.index)), s.pixels, thumbSide);
        thumbs.set(row, rel);
      }
      return rel;
    };

    // The gallery: spread over the whole set, not only its first classes.
    const galleryRows = spreadIndices(samples.length, galleryCount);
    if (task === 'classification') {
      const classifier = new Classifier(runDir, { topk: 3 });
      try {
        const results = await classifier.predict(galleryRows.map((r) => samples[r].pixels));
        const gallery: GalleryItem[] = [];
        for (const [k, r] of galleryRows.entries()) {
          const s = samples[r];
          const p = results[k];
          gallery.push({
            image: await thumbOf(r),
            index: s.index,
            label: s.label,
            predicted: p.label,
            predictedName: p.name,
            score: p.score,
            topk: p.topk,
            correct: s.label === undefined ? undefined : s.label === p.label,
          });
        }
        report.gallery = gallery;
        const judged = gallery.filter((g) => g.correct !== undefined);
        if (judged.length) report.accuracy = judged.filter((g) => g.correct).length / judged.length;
        log(`gallery: ${gallery.length} predictions${report.accuracy !== undefined ? `, ${(report.accuracy * 100).toFixed(1)}% right` : ''}`);
      } finally {
        await classifier.dispose();
      }
    }

    if (task === 'detection') {
      // Detectors: each gallery image with its boxes drawn in, and the boxes beside it.
      const detector = new Detector(runDir, { scoreThreshold: 0.3 });
      try {
        const results = await detector.predict(galleryRows.map((r) => samples[r].pixels));
        report.detections = [];
        for (const [k, r] of galleryRows.entries()) {
          const s = samples[r];
          const drawn = drawBoxes(s.pixels, results[k].detections);
          const image = await writeThumbnail(runDir, `${split}-${String(s.index).padStart(6, '0')}-boxes.png`, drawn, Math.max(thumbSide, 192));
          report.detections.push(galleryEntry(image, s.index, results[k].detections, s.boxes, classes));
        }
        log(`gallery: ${report.detections.length} images, ${report.detections.reduce((n, d) => n + d.detections.length, 0)} boxes at score >= 0.3`);
      } finally {
        await detector.dispose();
      }
    }

    if (task === 'segmentation') {
      // Segmentors: image, truth and prediction side by side, and SegEvaluator's table of every sample read.
      const write = (name: string, p: PixelImage) => writeThumbnail(runDir, name, p, Math.max(thumbSide, 128));
      report.segmentation = await segmentationReport({ runDir, config, source, split, samples, galleryRows, classes, write, thumbnail: thumbOf, log });
    }

    // Features of every sample: retrieval and the projection (a detector's or segmentor's export has none).
    const embeddings = task === 'detection' || task === 'segmentation' ? [] : await features.predict(samples.map((s) => s.pixels));
    const dim = embeddings[0]?.length ?? 0;
    if (dim > 0) {
      const queries = spreadIndices(samples.length, options.queries ?? 6);
      const retrieval: RetrievalQuery[] = [];
      for (const q of queries) {
        const hits = nearest(embeddings, q, options.neighbours ?? 8);
        retrieval.push({
          query: { image: await thumbOf(q), index: samples[q].index, label: samples[q].label },
          neighbours: await Promise.all(hits.map(async (h) => ({ image: await thumbOf(h.row), index: samples[h.row].index, label: samples[h.row].label, similarity: h.similarity }))),
        });
      }
      report.retrieval = retrieval;
      const flat = new Float32Array(samples.length * dim);
      embeddings.forEach((e, i) => flat.set(e, i * dim));
      const p = pca(flat, samples.length, dim, 2);
      report.projection = {
        method: 'pca',
        explained: [p.explained[0] ?? 0, p.explained[1] ?? 0],
        x: p.coords[0].map((v) => Number(v.toFixed(5))),
        y: (p.coords[1] ?? p.coords[0].map(() => 0)).map((v) => Number(v.toFixed(5))),
        labels: samples.map((s) => s.label ?? -1),
      };
      log(`features: ${samples.length} x ${dim}; retrieval for ${queries.length} queries; PCA explains ${((p.explained[0] + (p.explained[1] ?? 0)) * 100).toFixed(1)}% of the variance`);
    }
    report.seconds = (Date.now() - started) / 1000;
    const file = path.join(runDir, REPORT_DIR, REPORT_FILE);
    writeAtomic(file, [JSON.stringify(report, null, 1) + '\n']);
    return { file, report };
  } finally {
    await features.dispose();
    source.close?.();
  }
}
