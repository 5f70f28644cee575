/**
 * TF.js graph-model export: `tf.loadGraphModel` loads it over HTTP (as a browser would) and its
 * outputs match the toolkit's within 1e-4 on real images.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import '../../src/builtins';
import { exportModel } from '../../src/export/exportModel';
import { ensureBackend } from '../../src/export/source';
import { tempFiles } from '../helpers/tmp';
import { FASHION_DATA, fashionImages, imagesData, makeRun, maxAbsDiff, preparedBatch, sampleImages, toolkitOutputs } from './helpers';

const tmp = tempFiles({});
let server: http.Server;
let base = '';

beforeAll(async () => {
  await ensureBackend('wasm');
  // A static file server over the temporary folder.
  server = http.createServer((req, res) => {
    const file = path.join(tmp.dir, decodeURIComponent(new URL(req.url!, 'http://x').pathname));
    if (!file.startsWith(tmp.dir) || !fs.existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    // No keep-alive: a socket the server closes between tests would reset fetch's next request.
    res.writeHead(200, { 'content-type': file.endsWith('.json') ? 'application/json' : 'application/octet-stream', connection: 'close' }).end(fs.readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  tmp.cleanup();
});

const CASES = [
  { name: 'ResNet-18', backbone: '{ type: ResNet, depth: 18, base_width: 32 }', grey: false },
  { name: 'MobileNetV2', backbone: '{ type: MobileNetV2, width_mult: 0.5 }', grey: false },
  { name: 'VisionTransformer', backbone: '{ type: VisionTransformer, arch: custom, embed_dim: 96, depth: 4, num_heads: 3, img_size: 56, patch_size: 8 }', grey: false },
  { name: 'ConvNeXt', backbone: '{ type: ConvNeXt, arch: custom, depths: [1, 1, 2, 1], dims: [16, 32, 64, 128], layer_scale_init_value: 1 }', grey: false },
  { name: 'ConvNeXt V2 (GRN), grey', backbone: '{ type: ConvNeXt, arch: custom, depths: [1, 1], dims: [8, 16], patch_size: 2, use_grn: true, in_channels: 1 }', grey: true },
  { name: 'ResNet-18, CIFAR stem, grey', backbone: '{ type: ResNet, depth: 18, stem: cifar, in_channels: 1, base_width: 16 }', grey: true },
];

describe.each(CASES)('TF.js export: $name', (c) => {
  it('loads with tf.loadGraphModel over HTTP and matches the toolkit within 1e-4 on real images', async () => {
    const name = c.name.replace(/\W+/g, '_');
    const dir = path.join(tmp.dir, name);
    const classes = c.grey ? 10 : 3;
    const model = makeRun(dir, `model: { type: Classification, backbone: ${c.backbone}, head: { type: ClsHead, num_classes: ${classes} } }\n${c.grey ? FASHION_DATA : imagesData(56)}`);
    const result = await exportModel(path.join(dir, 'run'), { format: 'tfjs', out: path.join(dir, 'tfjs'), verify: false });
    expect(result.files.map((f) => path.basename(f))).toContain('model.json');

    const graph = await loadGraphModel(`${base}/${name}/tfjs/model.json`);
    expect((graph.metadata as { cvw: { classes: string[] } }).cvw.classes).toHaveLength(classes);
    const images = c.grey ? await fashionImages(8) : sampleImages();
    const batch = await preparedBatch(result.metadata, images);
    const expected = toolkitOutputs(model, batch);
    const x = tf.tensor4d(batch.data, batch.shape);
    const [logits, features] = graph.execute({ images: x }, ['logits', 'features']) as tf.Tensor[];
    expect(maxAbsDiff(logits.dataSync(), expected.logits)).toBeLessThan(1e-4);
    expect(maxAbsDiff(features.dataSync(), expected.features)).toBeLessThan(1e-4);
    tf.dispose([x, logits, features]);
    graph.dispose();
    model.dispose();
  });
});

describe('TF.js export details', () => {
  it('splits weights into 4 MB shards listed in the manifest, and uses fused convolutions', async () => {
    const dir = path.join(tmp.dir, 'shards');
    makeRun(dir, `model: { type: Classification, backbone: { type: ResNet, depth: 18, base_width: 32, stem: cifar }, head: { type: ClsHead, num_classes: 3 } }\n${imagesData(16)}`);
    const result = await exportModel(path.join(dir, 'run'), { format: 'tfjs' });
    expect(result.verified!.maxAbsDiff).toBeLessThan(1e-4);
    const json = JSON.parse(fs.readFileSync(path.join(result.path, 'model.json'), 'utf8'));
    expect(json.format).toBe('graph-model');
    const shards: string[] = json.weightsManifest[0].paths;
    expect(shards.length).toBe(3);
    expect(shards.map((s) => fs.statSync(path.join(result.path, s)).size).slice(0, -1)).toEqual([4 * 1024 * 1024, 4 * 1024 * 1024]);
    const ops = json.modelTopology.node.map((n: { op: string }) => n.op);
    expect(ops.filter((o: string) => o === '_FusedConv2D')).toHaveLength(20);
    expect(ops).not.toContain('Conv2D');
    expect(json.signature.outputs.logits.name).toBe('logits:0');
  });
});
