/**
 * Reading an exported TF.js graph model from disk without tfjs-node (whose `file://` handler is
 * the only one in Node): model.json and its shards become in-memory model artifacts for
 * `loadGraphModel`. Errors name the folder and what is missing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../../core/problems';
import { readRegularFile, UnreadableFile } from '../../core/boundedRead';

/** model.json holds the graph, not the weights: a few MiB for the toolkit's models. */
const MAX_MODEL_JSON_BYTES = 256 * 1024 * 1024;

/** model.json inside `target` (a folder or the file itself), or a UserError. */
export function modelJsonPath(target: string): string {
  const file = fs.existsSync(target) && fs.statSync(target).isDirectory() ? path.join(target, 'model.json') : target;
  if (!fs.existsSync(file)) throw new UserError(`${target}: not a TF.js model (no model.json)`);
  return file;
}

export function readTfjsArtifacts(target: string): tf.io.ModelArtifacts {
  const file = modelJsonPath(target);
  let json: {
    modelTopology?: unknown;
    format?: string;
    generatedBy?: string;
    convertedBy?: string;
    weightsManifest?: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
    signature?: unknown;
    userDefinedMetadata?: Record<string, unknown>;
  };
  try {
    json = JSON.parse(readRegularFile(file, { what: 'TF.js model.json', maxBytes: MAX_MODEL_JSON_BYTES }).toString('utf8'));
  } catch (err) {
    if (err instanceof UnreadableFile) throw err;
    throw new UserError(`${file}: not a TF.js model.json (${(err as Error).message})`);
  }
  if (!json || typeof json !== 'object' || !json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new UserError(`${file}: not a TF.js model.json (expected modelTopology and weightsManifest)`);
  }
  const dir = path.dirname(path.resolve(file));
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Buffer[] = [];
  json.weightsManifest.forEach((group, i) => {
    if (!group || !Array.isArray(group.weights) || !Array.isArray(group.paths)) throw new UserError(`${file}: weightsManifest[${i}]: expected an object with "paths" and "weights" arrays`);
    specs.push(...group.weights);
    for (const p of group.paths) {
      // Shards lie beside model.json: a path that leaves the folder is not this model's.
      const shard = typeof p === 'string' ? path.resolve(dir, p) : '';
      if (!shard || path.relative(dir, shard).startsWith('..') || path.isAbsolute(path.relative(dir, shard))) throw new UserError(`${file}: weight shard ${JSON.stringify(p)} is not a file name inside ${dir}`);
      if (!fs.existsSync(shard)) throw new UserError(`${file}: weight shard ${p} is missing from ${dir}`);
      buffers.push(readRegularFile(shard, { what: 'weight shard' }));
    }
  });
  const all = Buffer.concat(buffers);
  return {
    modelTopology: json.modelTopology as tf.io.ModelArtifacts['modelTopology'],
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy ?? undefined,
    weightSpecs: specs,
    weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
    signature: json.signature as tf.io.ModelArtifacts['signature'],
    userDefinedMetadata: json.userDefinedMetadata as tf.io.ModelArtifacts['userDefinedMetadata'],
  };
}
