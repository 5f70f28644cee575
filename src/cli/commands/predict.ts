import * as path from 'node:path';
import { Classifier, Detector, DETECTOR_DEFAULTS, FeatureExtractor, type DetectionResult, type Settled } from '../../export/predict';
import type { Classification } from '../../export/predict/classifier';
import { drawingPath, writeDrawing } from '../../export/predict/draw';
import { listImages } from '../../export/retrieve';
import { MAX_THREADS } from '../../engine/configSection';
import { UsageError, type CommandSpec } from '../args';
import { predictSegmentation } from './predictSegmentation';

function formatClassification(r: Classification): string {
  return r.topk.map((t) => `${t.name} ${t.score.toFixed(4)}`).join('  ');
}

function formatDetections(r: DetectionResult): string {
  if (!r.detections.length) return 'no detections';
  return r.detections.map((d) => `${d.name} ${d.score.toFixed(3)} [${d.box.map((v) => v.toFixed(1)).join(', ')}]`).join('  ');
}

/** Options without a default, so that giving one to another kind of model can be refused. */
const DETECTOR_OPTIONS = ['score-threshold', 'nms-threshold', 'max-detections'];

export const predictCommand: CommandSpec = {
  name: 'predict',
  summary: 'Classify images, detect objects (--draw draws the boxes) or embed images with an exported model (.onnx on onnxruntime-node, TF.js folder) or a run directory / checkpoint',
  positionals: [
    { name: 'model', description: 'An .onnx file, an exported TF.js folder, a run directory or a .safetensors checkpoint' },
    { name: 'images', description: 'Image files and folders (searched recursively)', variadic: true },
  ],
  options: [
    { name: 'topk', short: 'k', type: 'number', default: 5, description: 'Classes shown per image', range: { integer: true, min: 1 } },
    { name: 'json', type: 'boolean', description: 'Print one JSON array: {source, label, name, score, topk} per image ({source, error} for skipped ones)' },
    { name: 'skip-bad', type: 'boolean', description: 'Report images that cannot be read (on stderr) and predict the others, instead of stopping at the first' },
    { name: 'features', type: 'boolean', description: 'Print L2-normalised embeddings instead of classes (the default for self-supervised models)' },
    { name: 'batch-size', short: 'b', type: 'number', default: 32, description: 'Images per forward pass', range: { integer: true, min: 1 } },
    { name: 'threads', type: 'number', description: 'onnxruntime threads (default: one per core)', range: { integer: true, min: 1, max: MAX_THREADS } },
    { name: 'device', type: 'string', default: 'cpu', description: "gpu: onnxruntime's WebGPU provider for ONNX models, falling back to the CPU with a note", choices: ['cpu', 'gpu'] },
    { name: 'draw', type: 'string', valueName: 'dir', description: 'Detectors: write each image with its boxes and labels drawn to <dir>/<name>.png; segmentors: each mask as an indexed PNG (VOC colours) and <dir>/<name>-overlay.png, the colours blended over the image' },
    { name: 'score-threshold', type: 'number', description: `Detectors: lowest score shown (default: ${DETECTOR_DEFAULTS.scoreThreshold})`, range: { min: 0, max: 1 } },
    { name: 'nms-threshold', type: 'number', description: `Detectors: IoU above which overlapping boxes of a class are suppressed (default: ${DETECTOR_DEFAULTS.nmsThreshold})`, range: { min: 0, max: 1 } },
    { name: 'max-detections', type: 'number', description: `Detectors: boxes kept per image (default: ${DETECTOR_DEFAULTS.maxDetections})`, range: { integer: true, min: 1 } },
    { name: 'resize', type: 'boolean', default: true, description: 'Resize images whose pre-processed size differs from the network input (--no-resize makes it an error)' },
  ],
  details: 'Exit status: 0 when every image was predicted or skipped with --skip-bad; 1 on a bad image without --skip-bad, or a bad model.',
  async run(args) {
    const [model, ...targets] = args.positionals;
    if (!targets.length) throw new UsageError('missing <images>: give image files or folders');
    const images = listImages(targets);
    if (!images.length) throw new UsageError(`no images found in ${targets.join(', ')}`);
    const options = {
      batchSize: args.options['batch-size'] as number,
      threads: args.options.threads as number | undefined,
      resize: args.options.resize !== false,
      topk: args.options.topk as number,
      device: args.options.device as 'cpu' | 'gpu',
    };
    const skipBad = !!args.options['skip-bad'];
    let features = !!args.options.features;
    let detection = false;
    // Said, not ignored: a detector's threshold given to another model is a mistake.
    const detectorOnly = DETECTOR_OPTIONS.find((name) => args.options[name] !== undefined);
    if (detectorOnly && features) throw new UsageError(`--${detectorOnly}: --features prints embeddings, not boxes`, 'predict');
    if (!features) {
      const probe = new FeatureExtractor(model, options);
      let task: string | undefined;
      try {
        task = (await probe.metadata()).task;
      } finally {
        await probe.dispose();
      }
      if (detectorOnly && task !== 'detection') throw new UsageError(`--${detectorOnly}: the model is not a detector (its task is ${task})`, 'predict');
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
            scoreThreshold: args.options['score-threshold'] as number | undefined,
            nmsThreshold: args.options['nms-threshold'] as number | undefined,
            maxDetections: args.options['max-detections'] as number | undefined,
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
