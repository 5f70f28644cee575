/**
 * What `cvw data inspect` and `cvw data pack` read: a config file (a full config's
 * `data.<split>`, a dataset mapping or a source mapping) or a path whose layout says which
 * source it is (a folder of class folders, idx files, CIFAR batches, TFRecord shards; a list file;
 * a COCO instances JSON).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { build, registries } from '../core/registry';
import { resolveConfig } from '../core/check';
import type { Overrides } from '../core/config/overrides';
import { ConfigError, UserError } from '../core/problems';
import { parseConfigText } from '../core/config/yamlFile';
import { isPlainObject, type ComponentConfig } from '../core/schema';
import type { DatasetPlan } from './datasets';
import { dataSplit } from './configSection';
import type { SourceFactory } from './types';
import { readRegularFile } from '../core/boundedRead';

export interface DataTarget {
  /** The source config used (for messages and `--json`). */
  config: ComponentConfig;
  source: SourceFactory;
  /** When the target names a dataset: its views (for inspecting pipelines). */
  dataset?: DatasetPlan;
  /** Where relative paths in the config may also be found. */
  configDir?: string;
  /** A full config's `seed` (what its training's augmentations are drawn from). */
  seed?: number;
}

const CONFIG_EXTENSIONS = ['.yaml', '.yml', '.json'];

function sourceTarget(config: ComponentConfig, configDir?: string): DataTarget {
  return { config, source: build<SourceFactory>('source', config), configDir };
}

/** The source config a path stands for, guessed from its layout. */
export function sourceConfigForPath(p: string): ComponentConfig {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch {
    throw new UserError(`not found: ${p}`);
  }
  if (st.isDirectory()) {
    const names = fs.readdirSync(p);
    if (names.some((n) => /^(train|t10k)-images[-.]idx3-ubyte(\.gz)?$/.test(n))) return { type: /fashion/i.test(path.resolve(p)) ? 'FashionMNIST' : 'MNIST', root: p };
    if (names.includes('cifar-10-batches-bin') || names.some((n) => /^(data_batch_\d|test_batch)\.bin$/.test(n))) return { type: 'CIFAR10', root: p };
    if (names.some((n) => /\.tfrecords?$|-\d{5}-of-\d{5}(\.tfrecord)?$/.test(n))) return { type: 'TFRecord', files: p };
    return { type: 'ImageFolder', root: p };
  }
  const ext = path.extname(p).toLowerCase();
  if (/\.tfrecords?$/.test(ext) || /-\d{5}-of-\d{5}$/.test(p)) return { type: 'TFRecord', files: p };
  if (['.txt', '.lst', '.list'].includes(ext)) return { type: 'ImageList', list: p };
  throw new UserError(`${p}: cannot tell which data source this file is; give a folder, a .tfrecord shard, a list file (.txt), a COCO instances JSON, or a config`);
}

/** A COCO instances file: its image folder is guessed from the usual layout (annotations/instances_val2017.json beside val2017/). */
function cocoTarget(file: string): DataTarget {
  const stem = path.basename(file, path.extname(file)).replace(/^instances_/, '');
  const candidates = [path.join(path.dirname(path.dirname(file)), stem), path.join(path.dirname(file), stem), path.join(path.dirname(path.dirname(file)), 'images', stem), path.join(path.dirname(file), 'images')];
  const imgDir = candidates.find((c) => fs.existsSync(c) && fs.statSync(c).isDirectory());
  if (!imgDir) throw new UserError(`${file}: a COCO annotation file, but its image folder is not in the usual place (${candidates.join(', ')}); use a config with {type: COCO, ann_file, img_dir}`);
  return sourceTarget({ type: 'COCO', ann_file: file, img_dir: imgDir });
}

/**
 * Resolve a command-line argument to a data source (and a dataset when it names one);
 * `customImports: false` runs none of a full config's custom_imports; `overrides` apply to a full config.
 */
export function dataTarget(arg: string, split: string, options: { customImports?: boolean; overrides?: Overrides } = {}): DataTarget {
  const ext = path.extname(arg).toLowerCase();
  if (!CONFIG_EXTENSIONS.includes(ext) || (fs.existsSync(arg) && fs.statSync(arg).isDirectory())) return sourceTarget(sourceConfigForPath(arg));
  const text = readRegularFile(arg, { what: 'data config' }).toString('utf8');
  let doc: unknown;
  if (ext === '.json') {
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new UserError(`${arg}: not valid JSON: ${(err as Error).message}`);
    }
  } else {
    // The configs' own reader: its messages (file:line:column) and its bounds (nesting, aliases).
    const parsed = parseConfigText(arg, text);
    if (parsed.problems.length) throw new ConfigError(parsed.problems);
    doc = parsed.value;
  }
  const configDir = path.dirname(path.resolve(arg));
  if (isPlainObject(doc) && Array.isArray(doc.images) && Array.isArray(doc.categories)) return cocoTarget(arg);
  if (isPlainObject(doc) && typeof doc.type === 'string') {
    const cfg = doc as ComponentConfig;
    if (registries.source.has(cfg.type)) return sourceTarget(cfg, configDir);
    if (registries.dataset.has(cfg.type)) {
      const dataset = build<DatasetPlan>('dataset', cfg);
      return { config: cfg.source as ComponentConfig, source: dataset.source, dataset, configDir };
    }
    throw new UserError(`${arg}: "${cfg.type}" is neither a data source (${registries.source.names().join(', ')}) nor a dataset (${registries.dataset.names().join(', ')})`);
  }
  const { config } = resolveConfig(arg, { customImports: options.customImports, overrides: options.overrides });
  const data = config.data as Record<string, unknown> | undefined;
  const cfg = dataSplit(data, split);
  if (!isPlainObject(cfg)) {
    const have = data ? ['train', 'val', 'test'].filter((s) => isPlainObject(data[s])) : [];
    throw new UserError(`${arg}: no data.${split} dataset in this config${have.length ? ` (it has ${have.map((s) => `data.${s}`).join(', ')}; use --split)` : ''}`);
  }
  const dataset = build<DatasetPlan>('dataset', cfg);
  return { config: (cfg as ComponentConfig).source as ComponentConfig, source: dataset.source, dataset, configDir, seed: typeof config.seed === 'number' ? config.seed : undefined };
}
