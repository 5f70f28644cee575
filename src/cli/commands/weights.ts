/** `cvw weights inspect|convert|export`: torchvision/timm weights in, PyTorch-loadable weights out. */
import * as path from 'node:path';
import { UserError } from '../../core/problems';
import { convertToToolkit } from '../../weights/convert';
import { exportWeights, writeWeights } from '../../weights/export';
import { formatWeightsReport, inspectWeights } from '../../weights/inspect';
import { detectArchitecture, WEIGHT_MAPS } from '../../weights/maps';
import { readWeights } from '../../weights/read';
import { UsageError, type CommandSpec } from '../args';

const keyOption = { name: 'key', type: 'string', valueName: 'name', description: 'Take the weights from this nested key or name prefix, dotted (teacher, state_dict.module.encoder_q; default: the first of state_dict, model, module, model_ema, state_dict_ema, ema)' } as const;

export const weightsInspectCommand: CommandSpec = {
  name: 'weights inspect',
  summary: 'List the tensors of a weights file (.safetensors, .pth/.pt/.bin) and say which backbone and variant they fit',
  positionals: [{ name: 'file', description: 'A safetensors file or a torch.save archive' }],
  options: [keyOption, { name: 'all', type: 'boolean', description: 'List every tensor (default: the first 20)' }, { name: 'json', type: 'boolean', description: 'Print the report as JSON' }],
  run(args) {
    const report = inspectWeights(args.positionals[0], { key: args.options.key as string | undefined });
    process.stdout.write((args.options.json ? JSON.stringify(report, null, 2) : formatWeightsReport(report, !!args.options.all)) + '\n');
    return 0;
  },
};

/** The backbone and model types the weight maps convert to. */
function mapTargets(): string[] {
  return [...new Set(WEIGHT_MAPS.flatMap((m) => [m.backbone, ...(m.model ? [m.model] : [])]))];
}

export const weightsConvertCommand: CommandSpec = {
  name: 'weights convert',
  summary: "Convert torchvision/timm weights into a checkpoint of this toolkit (names, layouts and the model config), for load_from, predict, eval and export",
  positionals: [{ name: 'file', description: 'A safetensors file or a torch.save archive with torchvision/timm names' }],
  options: [
    keyOption,
    { name: 'to', type: 'string', valueName: 'backbone', description: `The backbone (or model) type the file must fit (${mapTargets().join(', ')}); default: whatever it fits` },
    { name: 'out', short: 'o', type: 'string', valueName: 'file', description: 'Where to write (default: <file stem>.cvw.safetensors beside the input)' },
  ],
  run(args) {
    const file = args.positionals[0];
    const to = args.options.to as string | undefined;
    const targets = mapTargets();
    if (to && !targets.includes(to)) throw new UsageError(`--to ${to}: expected one of ${targets.join(', ')}`, 'weights convert');
    const w = readWeights(file, { key: args.options.key as string | undefined });
    const found = detectArchitecture(w.tensors);
    if (!found) throw new UserError(`${file}: does not fit a known backbone (\`cvw weights inspect ${file}\` lists its tensors)`);
    const { map, detected } = found;
    if (to && to !== map.backbone && to !== map.model) throw new UserError(`${file}: holds ${detected.variant}, not a ${to}`);
    if (detected.unsupported) throw new UserError(`${file}: holds ${detected.variant}: ${detected.unsupported}`);
    const converted = convertToToolkit(w.tensors, map);
    if (converted.unmapped.length) throw new UserError(`${file}: ${converted.unmapped.length} tensors have no counterpart in the toolkit's ${map.backbone}: ${converted.unmapped.slice(0, 8).join(', ')}`);
    const tensors = new Map([...converted.tensors].map(([k, t]) => [`model.${k}`, t]));
    const model = detected.model ?? { type: 'Classification', backbone: detected.backbone, ...(detected.numClasses ? { head: { type: 'ClsHead', num_classes: detected.numClasses } } : {}) };
    const out = (args.options.out as string | undefined) ?? path.join(path.dirname(file), `${path.basename(file).replace(/\.[^.]+$/, '')}.cvw.safetensors`);
    writeWeights(out, tensors, { format: 'cvw', cvw: JSON.stringify({ config: { model }, converted_from: path.basename(file) }) });
    process.stdout.write(`${detected.variant} -> ${out} (${tensors.size} tensors)\nmodel: ${JSON.stringify(model)}\n`);
    return 0;
  },
};

export const weightsExportCommand: CommandSpec = {
  name: 'weights export',
  summary: 'Write a run\'s weights as safetensors in torchvision, timm, the paper\'s (ConvNeXt) or YOLOX names, which PyTorch loads with load_state_dict(strict=True)',
  positionals: [{ name: 'run', description: 'A run directory (its best checkpoint, else the latest) or a checkpoint' }],
  options: [
    { name: 'format', type: 'string', default: 'torchvision', description: 'Names of the PyTorch model family to load into (official: the paper\'s own code, for ConvNeXt; yolox: Megvii\'s YOLOX, for YOLOX runs)', choices: ['torchvision', 'timm', 'official', 'yolox'] },
    { name: 'out', short: 'o', type: 'string', valueName: 'file', description: 'Where to write (default: <run>/export/<format>.safetensors)' },
  ],
  details: 'Classification runs export backbone and classifier; other runs the backbone alone (timm: create_model(..., num_classes=0)).',
  async run(args) {
    const target = args.positionals[0];
    const format = args.options.format as string;
    const out = (args.options.out as string | undefined) ?? path.join(/\.safetensors$/i.test(target) ? path.dirname(target) : target, 'export', `${format}.safetensors`);
    const r = await exportWeights(target, format, out);
    process.stdout.write(`${r.file}: ${r.contents}, ${r.tensors} tensors, ${r.values.toLocaleString('en-US')} values${r.weights === 'ema' ? ' (the EMA average)' : ''}\n`);
    return 0;
  },
};
