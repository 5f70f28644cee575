import * as tf from '@tensorflow/tfjs-core';

interface EngineInternals {
  makeTensorFromDataId(dataId: object, shape: number[], dtype: tf.DataType): tf.Tensor;
  state: { tensorInfo: WeakMap<object, { backend: { incRef(dataId: object): void } }> };
}

/**
 * The same values, cut from the gradient tape (PyTorch's `detach()`): a new tensor sharing the
 * data of `x`, made without an op, so no gradient flows back through it and nothing is copied.
 * The data's reference count is raised so either tensor can be disposed first (this relies on
 * tfjs-core 4.22's engine internals; test/models/nn.test.ts checks them).
 */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  const engine = tf.engine() as unknown as EngineInternals;
  const t = engine.makeTensorFromDataId(x.dataId, x.shape, x.dtype);
  engine.state.tensorInfo.get(x.dataId)!.backend.incRef(x.dataId);
  return t as T;
}
