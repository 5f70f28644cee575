import * as tf from '@tensorflow/tfjs-core';

/**
 * The same values, cut from the gradient tape (PyTorch's `detach()`): a new tensor sharing the
 * data of `x`, made without an op, so no gradient flows back through it and nothing is copied.
 */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  return tf.engine().makeTensorFromDataId(x.dataId, x.shape, x.dtype) as T;
}
