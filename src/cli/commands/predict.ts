import * as path from 'node:path';
import { Classifier, Detector, FeatureExtractor, type DetectionResult, type Settled } from '../../export/predict';
import type { Classification } from '../../export/predict/classifier';
import { drawingPath, writeDrawing } from '../../export/predict/draw';
import { listImages } from '../../export/retrieve';
import { UsageError, type CommandSpec } from '../args';
import { predictSegmentation } from './predictSegmentation';

function positiveInt(v: unknown, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer, got ${v}`);
  return n;
}

function formatClassification(r: Classification): string {
  return r.topk.map((t) => `${t.name} ${t.score.toFixed(4)}`).join('  ');
}

function formatDetections(r: DetectionResult): string {
  if (!r.detections.length) return 'no detections';
  return r.detections.map((d) => `${d.name} ${d.score.toFixed(3)} [${d.box.map((v) => v.toFixed(1)).join(', ')}]`).join('  ');
}

function unitNumber(v: unknown, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(n >= 0 && n <= 1)) throw new UsageError(`--${name} must be between 0 and 1, got ${v}`);
  return n;
}

export const predictCommand: CommandSpec = {
  name: 'predict',
  summary: 'Classify images, detect objects (--draw draws the boxes) or embed images with an exported model (.onnx on onnxruntime-node, TF.js folder) or a run directory / checkpoint',
  positionals: [
    { name: 'model', description: 'An .onnx file, an exported TF.js folder, a run directory or a .safetensors checkpoint' },
    { name: 'images', description: 'Image files and folders (searched recursively)', variadic: true },
  ],
  options: [
    { name: 'topk', short: 'k', type: 'number', default: 5, description: 'Classes shown per image' },
    { name: 'json', type: 'boolean', description: 'Print one JSON array: {source, label, name, score, topk} per image ({source, error} for skipped ones)' },
    { name: 'skip-bad', type: 'boolean', description: 'Report images that cannot be read (on stderr) and predict the others, instead of stopping at the first' },
    { name: 'features', type: 'boolean', description: 'Print L2-normalised embeddings instead of classes (the default for self-supervised models)' },
    { name: 'batch-size', short: 'b', type: 'number', default: 32, description: 'Images per forward pass' },
    { name: 'threads', type: 'number', description: 'onnxruntime threads (default: one per core)' },
    { name: 'device', type: 'string', valueName: 'cpu|gpu', default: 'cpu', description: "gpu: onnxruntime's WebGPU provider for ONNX models, falling back to the CPU with a note" },
    { name: 'draw', type: 'string', valueName: 'dir', description: 'Detectors: write each image with its boxes and labels drawn to <dir>/<name>.png; segmentors: each mask as an indexed PNG (VOC colours) and <dir>/<name>-overlay.png, the colours blended over the image' },
    { name: 'score-threshold', type: 'number', default: 0.3, description: 'Detectors: lowest score shown' },
    { name: 'nms-threshold', type: 'number', default: 0.65, description: 'Detectors: IoU above which overlapping boxes of a class are suppressed' },
    { name: 'max-detections', type: 'number', default: 100, description: 'Detectors: boxes kept per image' },
    { name: 'resize', type: 'boolean', default: true, description: 'Resize images whose pre-processed size differs from the network input (--no-resize makes it an error)' },
  ],
  details: 'Exit status: 0 when every image was predicted or skipped with --skip-bad; 1 on a bad image without --skip-bad, or a bad model.',
  async run(args) {
    const [model, ...targets] = args.positionals;
    if (!targets.length) throw new UsageError('missing <images>: give image files or folders');
    const images = listImages(targets);
    if (!images.length) throw new UsageError(`no images found in ${targets.join(', ')}`);
    const options = {
      batchSize: positiveInt(args.options['batch-size'], 'batch-size'),
      threads: positiveInt(args.options.threads, 'threads'),
      resize: args.options.resize !== false,
      topk: positiveInt(args.options.topk, 'topk'),
      device: deviceOption(args.options.device),
    };
    const skipBad = !!args.options['skip-bad'];
    let features = !!args.options.features;
    let detection = false;
    if (!features) {
      const probe = new FeatureExtractor(model, options);
      let task: string | undefined;
      try {
        task = (await probe.metadata()).task;
      } finally {
        await probe.dispose();
      }
      if (task === 'segmentation') {
        return predictSegmentation(model, images, options, { skipBad, json: !!args.options.json, drawDir: args.options.draw as string | undefined });
      }
      detection = task === 'detection';
      features = task === 'features';
    }
    const drawDir = args.options.draw as string | undefined;
    if (drawDir !== undefined && !detection) throw new UsageError('--draw: the model is not a detector (there are no boxes to draw)');
    const predictor = features
      ? new FeatureExtractor(model, options)
      : detection
        ? new Detector(model, {
            ...options,
            scoreThreshold: unitNumber(args.options['score-threshold'], 'score-threshold'),
            nmsThreshold: unitNumber(args.options['nms-threshold'], 'nms-threshold'),
            maxDetections: positiveInt(args.options['max-detections'], 'max-detections'),
          })
        : new Classifier(model, options);
    try {
      const where = await predictor.device();
      if (where.note) process.stderr.write(`note: ${where.note}\n`);
      let settled: Array<Settled<Classification | Float32Array | DetectionResult>>;
      if (skipBad) settled = await predictor.predictSettled(images);
      else settled = ((await predictor.predict(images)) as Array<Classification | Float32Array | DetectionResult>).map((result, i) => ({ source: images[i], result }));
      if (drawDir !== undefined) {
        const taken = new Set<string>();
        for (const s of settled) {
          if (s.error !== undefined) continue;
          const file = drawingPath(drawDir, s.source, taken);
          await writeDrawing(file, s.source, (s.result as DetectionResult).detections);
          if (!args.options.json) process.stderr.write(`drew ${path.relative(process.cwd(), file) || file}\n`);
        }
      }
      const rows = settled.map((s) => (s.error !== undefined ? { source: s.source, error: s.error } : s.result instanceof Float32Array ? { source: s.source, embedding: Array.from(s.result) } : { source: s.source, ...s.result }));
      for (const s of settled) if (s.error !== undefined) process.stderr.write(`skipped ${s.error}\n`);
      if (args.options.json) {
        process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
      } else {
        const width = Math.min(60, settled.reduce((w, s) => (s.error ? w : Math.max(w, s.source.length)), 6));
        for (const s of settled) {
          if (s.error !== undefined) continue;
          const r = s.result!;
          const text =
            r instanceof Float32Array ? `[${Array.from(r.subarray(0, 4), (v) => v.toFixed(4)).join(', ')}${r.length > 4 ? `, ... (${r.length} values)` : ''}]` : 'detections' in r ? formatDetections(r) : formatClassification(r);
          process.stdout.write(`${s.source.padEnd(width)}  ${text}\n`);
        }
      }
      const bad = settled.filter((s) => s.error !== undefined).length;
      if (bad) process.stderr.write(`${bad} of ${settled.length} image(s) skipped\n`);
      return 0;
    } finally {
      await predictor.dispose();
    }
  },
};

function deviceOption(value: unknown): 'cpu' | 'gpu' {
  if (value === undefined || value === 'cpu' || value === 'gpu') return (value as 'cpu' | 'gpu' | undefined) ?? 'cpu';
  throw new UsageError(`--device must be cpu or gpu, got "${String(value)}"`);
}
