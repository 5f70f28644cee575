/**
 * TensorFlow.js' gradient definitions, for training.
 *
 * `@tensorflow/tfjs-core`'s CommonJS bundle (what Node loads) leaves out the gradient registrations:
 * they exist only as ES modules (dist/register_all_gradients.js, extensionless imports Node cannot
 * load). The umbrella `@tensorflow/tfjs` package bundles them; we bundle them once with esbuild into
 * dist/vendor/ (at `npm run build`, or on first use in a development checkout). The bundle carries
 * its own copy of the ops the gradients call; they run on the one global engine and registries
 * (tfjs keeps those on the global object, and its Tensor class checks instances by shape, not
 * identity, for exactly this situation), so tensors and kernels are shared.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { packageRoot } from '../core/packageInfo';
import { installDilatedGradients } from './dilatedGradients';
import { installBroadcastMatMulGradient } from './matMulGradient';
import { installRelu6Gradient } from './relu6Gradient';
import { installResizeGradients } from './resizeGradients';
import { makeDirs } from '../core/makeDirs';

const ENTRY = '@tensorflow/tfjs-core/dist/register_all_gradients.js';

/** Where the bundle lives: dist/vendor/tfjs-core-gradients-<version>.js under the package root. */
export function gradientBundlePath(root = packageRoot()): string {
  return path.join(root, 'dist', 'vendor', `tfjs-core-gradients-${tf.version_core}.js`);
}

/** Bundle tfjs-core's gradient registrations into one CommonJS file (needs esbuild, a dev dependency). */
export function buildGradientBundle(outFile = gradientBundlePath()): void {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = require('esbuild');
  } catch {
    throw new Error(`TensorFlow.js gradients are not bundled (${outFile} is missing) and esbuild is not installed to bundle them; run \`npm run build\` in the cv-workbench package`);
  }
  const result = esbuild.buildSync({
    entryPoints: [require.resolve(ENTRY)],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    write: false,
    logLevel: 'error',
    legalComments: 'inline',
  });
  makeDirs(path.dirname(outFile));
  const tmp = `${outFile}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, result.outputFiles[0].text);
  fs.renameSync(tmp, outFile);
}

/** True when tfjs knows the gradients training needs. */
export function gradientsRegistered(): boolean {
  return tf.getGradient('Conv2D') != null && tf.getGradient('BatchMatMul') != null;
}

/** Register every tfjs-core gradient once per process, and over them the ones fixed or made faster here (dilated convolutions, broadcast matrix products, resizes, Relu6). */
export function ensureGradients(): void {
  if (!gradientsRegistered()) {
    const file = gradientBundlePath();
    if (!fs.existsSync(file)) buildGradientBundle(file);
    require(file);
    if (!gradientsRegistered()) throw new Error(`loading ${file} did not register TensorFlow.js' gradients; delete it and run \`npm run build\``);
  }
  installDilatedGradients();
  installBroadcastMatMulGradient();
  installResizeGradients();
  installRelu6Gradient();
}
