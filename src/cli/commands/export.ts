import * as fs from 'node:fs';
import { describeComparison, exportModel, type ExportFormat } from '../../export/exportModel';
import { UsageError, type CommandSpec } from '../args';
import { readRegularFile } from '../../core/boundedRead';

/** `224`, `224x224` or `32,48` as [height, width]. */
export function parseSize(text: string, option: string): [number, number] {
  const m = /^(\d+)(?:[x,](\d+))?$/i.exec(text.trim());
  if (!m) throw new UsageError(`--${option} expects <size> or <height>x<width>, got "${text}"`);
  const h = Number(m[1]);
  const w = Number(m[2] ?? m[1]);
  if (h < 1 || w < 1) throw new UsageError(`--${option}: sizes must be positive, got "${text}"`);
  return [h, w];
}

/** Class names from `a,b,c` or a file with one name per line. */
function parseClasses(text: string): string[] {
  // A file when it names one, or looks like one (a missing names.txt is not one class called so).
  if (fs.existsSync(text) || (!text.includes(',') && /[\\/]|\.(txt|names|csv)$/i.test(text))) {
    return readRegularFile(text, { what: 'class names file' })
      .toString('utf8')
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter(Boolean);
  }
  return text.split(',').map((s) => s.trim());
}

export const exportCommand: CommandSpec = {
  name: 'export',
  summary: 'Export a trained model (run directory or checkpoint) to ONNX or a TF.js graph model, with class names and pre-processing in its metadata',
  positionals: [{ name: 'model', description: 'A run directory (its best checkpoint, else the latest) or a .safetensors checkpoint' }],
  options: [
    { name: 'format', short: 'f', type: 'string', default: 'onnx', description: 'onnx: one .onnx file for onnxruntime; tfjs: model.json + weight shards for tf.loadGraphModel', choices: ['onnx', 'tfjs'] },
    { name: 'out', short: 'o', type: 'string', valueName: 'path', description: 'Output .onnx file or TF.js folder (default: <run>/export/model.onnx or <run>/export/tfjs)' },
    { name: 'nchw', type: 'boolean', description: 'ONNX input in NCHW, as PyTorch (the default)' },
    { name: 'nhwc', type: 'boolean', description: 'ONNX input in NHWC, as TensorFlow (TF.js is always NHWC)' },
    { name: 'with-preprocess', type: 'boolean', description: 'Put resize and normalisation in the graph: it then takes raw 0-255 pixels of any size, stretched to the network\'s (no centre crop)' },
    { name: 'input-size', type: 'string', valueName: 'HxW', description: 'Network input size when the run data is not at hand to tell it (e.g. 224 or 224x224)' },
    { name: 'batch', type: 'string', valueName: 'dynamic|n', default: 'dynamic', description: 'Batch dimension: dynamic, or a fixed size' },
    { name: 'classes', type: 'string', valueName: 'a,b,c|file', description: 'Class names when the data cannot give them (comma-separated, or a file with one per line)' },
    { name: 'nms', type: 'boolean', description: 'Detectors (ONNX): append NonMaxSuppression, adding a `detections` output [k, 7] = (batch, x1, y1, x2, y2, score, class)' },
    { name: 'nms-iou', type: 'number', default: 0.65, description: 'IoU threshold of --nms', range: { min: 0, max: 1 } },
    { name: 'score-threshold', type: 'number', default: 0.25, description: 'Lowest score --nms keeps', range: { min: 0, max: 1 } },
    { name: 'max-per-class', type: 'number', default: 100, description: 'Boxes --nms keeps per class and image', range: { integer: true, min: 1 } },
    { name: 'verify', type: 'boolean', default: true, description: 'Run the export once on random images and compare with the toolkit (--no-verify skips it)' },
    { name: 'json', type: 'boolean', description: 'Print the result (files, metadata, verification) as JSON' },
    { name: 'quiet', short: 'q', type: 'boolean', description: 'No progress on stderr' },
  ],
  details:
    'The export is traced from one forward pass of the model (every TensorFlow.js kernel it runs), so custom components export too. ' +
    'It is then run once on random images and compared with the toolkit: the largest difference is printed. EMA weights are used when the run kept them.',
  async run(args) {
    const format = args.options.format as ExportFormat;
    if (args.options.nchw && args.options.nhwc) throw new UsageError('--nchw and --nhwc exclude each other');
    if (format === 'tfjs' && args.options.nchw) throw new UsageError('--nchw: TF.js models are NHWC');
    const batchText = String(args.options.batch);
    const batch = batchText === 'dynamic' ? 'dynamic' : Number(batchText);
    if (batch !== 'dynamic' && (!Number.isInteger(batch) || batch < 1)) throw new UsageError(`--batch must be "dynamic" or a positive integer, got "${batchText}"`);
    const quiet = !!args.options.quiet || !!args.options.json;
    const result = await exportModel(args.positionals[0], {
      format,
      out: args.options.out as string | undefined,
      layout: args.options.nhwc ? 'NHWC' : 'NCHW',
      withPreprocess: !!args.options['with-preprocess'],
      inputSize: args.options['input-size'] !== undefined ? parseSize(String(args.options['input-size']), 'input-size') : undefined,
      batch,
      classes: args.options.classes !== undefined ? parseClasses(String(args.options.classes)) : undefined,
      verify: args.options.verify !== false,
      nms: args.options.nms
        ? { iouThreshold: Number(args.options['nms-iou']), scoreThreshold: Number(args.options['score-threshold']), maxPerClass: Number(args.options['max-per-class']) }
        : undefined,
      log: quiet ? undefined : (m) => process.stderr.write(`${m}\n`),
    });
    for (const note of result.notes) process.stderr.write(`note: ${note}\n`);
    if (result.verified && !result.verified.matches) process.stderr.write(`warning: the export differs from the toolkit: ${describeComparison(result.verified)}\n`);
    if (args.options.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    else process.stdout.write(`${result.path}\n`);
    return 0;
  },
};
