/**
 * The gradient of Relu6: dy times the mask 1 on (0, 6] and 0 elsewhere. Backends with the
 * `CvwRelu6Grad` kernel (wasm: one SIMD sweep, kernels/relu6Grad.ts) run it as one kernel; others
 * build the mask from Step kernels, step(x) − step(x − 6). (tfjs-core's own gradient builds it from
 * Greater, LessEqual, LogicalAnd and Cast; on the wasm backend the comparisons take a
 * scalar-broadcast path several times slower than Step's: 8% of a MobileNetV2 training step in
 * BENCHMARKS.md.)
 */
import * as tf from '@tensorflow/tfjs-core';
import { Relu6, type GradConfig } from '@tensorflow/tfjs-core';
import { hasKernel } from './ops/backendKernel';

export const RELU6_GRAD = 'CvwRelu6Grad';

const config: GradConfig = {
  kernelName: Relu6,
  inputsToSave: ['x'],
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
    const [x] = saved;
    if (hasKernel(RELU6_GRAD)) return { x: () => tf.engine().runKernel(RELU6_GRAD, { dy: dy as tf.Tensor, x }) as tf.Tensor };
    return { x: () => tf.mul(dy as tf.Tensor, tf.sub(tf.step(x), tf.step(tf.sub(x, 6)))) };
  },
};

export function installRelu6Gradient(): void {
  if (tf.getGradient(Relu6) !== config) tf.registerGradient(config);
}
