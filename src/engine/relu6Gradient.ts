/**
 * The gradient of Relu6 from Step kernels. tfjs-core's builds its mask from Greater, LessEqual,
 * LogicalAnd and Cast; on the wasm backend the comparisons take a scalar-broadcast path several
 * times slower than Step's (8% of a MobileNetV2 training step in BENCHMARKS.md). The same mask,
 * 1 on (0, 6] and 0 elsewhere: step(x) − step(x − 6).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Relu6, type GradConfig } from '@tensorflow/tfjs-core';

const config: GradConfig = {
  kernelName: Relu6,
  inputsToSave: ['x'],
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
    const [x] = saved;
    return { x: () => tf.mul(dy as tf.Tensor, tf.sub(tf.step(x), tf.step(tf.sub(x, 6)))) };
  },
};

export function installRelu6Gradient(): void {
  if (tf.getGradient(Relu6) !== config) tf.registerGradient(config);
}
