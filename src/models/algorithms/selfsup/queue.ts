/**
 * A first-in first-out queue of feature vectors (MoCo's dictionary of negatives: He et al.,
 * Momentum Contrast, CVPR 2020, arXiv:1911.05722, Section 3.2 "Dictionary as a queue"; also
 * MoBY's two queues and SwAV's optional feature queue).
 *
 * The queue and its write pointer are module buffers, so checkpoints save them and a resumed run
 * continues with the same negatives. It starts filled with random unit vectors, as MoCo's does.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Module } from '../../nn/module';
import * as init from '../../nn/init';
import { l2Normalize } from '../../nn/l2Normalize';
import { stopGradient } from '../../nn/stopGradient';

export class FeatureQueue extends Module {
  readonly queue: tf.Variable;
  /** Row the next key is written to. */
  readonly ptr: tf.Variable;
  /** How many rows hold real features (SwAV uses only filled rows). */
  readonly filled: tf.Variable;

  constructor(
    readonly length: number,
    readonly dim: number,
    options: { normalize?: boolean } = {},
  ) {
    super();
    if (!(length >= 1)) throw new Error(`queue length must be >= 1, got ${length}`);
    const start = init.normal([length, dim], 1);
    this.queue = this.buffer('queue', options.normalize === false ? start : tf.tidy(() => l2Normalize(start)));
    if (options.normalize !== false) start.dispose();
    this.ptr = this.buffer('ptr', tf.scalar(0, 'int32'));
    this.filled = this.buffer('filled', tf.scalar(0, 'int32'));
  }

  /**
   * The current contents `[K, D]`, cut from the gradient and from later writes: a loss computed
   * from this snapshot keeps its values even after `enqueue` replaces the buffer.
   */
  snapshot(): tf.Tensor2D {
    return stopGradient(this.queue) as tf.Tensor2D;
  }

  /** Rows written so far (0 to K). */
  count(): number {
    return this.filled.dataSync()[0];
  }

  /** Write `keys` `[N, D]` over the oldest rows, wrapping around the end, and advance the pointer. */
  enqueue(keys: tf.Tensor2D): void {
    const [n, d] = keys.shape;
    if (d !== this.dim) throw new Error(`queue of width ${this.dim} cannot take keys of width ${d}`);
    const k = this.length;
    tf.tidy(() => {
      // A batch larger than the queue keeps only its last K keys.
      let rows = stopGradient(keys);
      let count = n;
      if (count > k) {
        rows = tf.slice(rows, [count - k, 0], [k, d]);
        count = k;
      }
      const ptr = this.ptr.dataSync()[0];
      const first = Math.min(count, k - ptr);
      const parts: tf.Tensor[] = [];
      const wrapped = count - first;
      // [0, wrapped) from the tail of the keys, then the untouched middle, then [ptr, ptr+first).
      if (wrapped > 0) parts.push(tf.slice(rows, [first, 0], [wrapped, d]));
      if (ptr > wrapped) parts.push(tf.slice(this.queue, [wrapped, 0], [ptr - wrapped, d]));
      parts.push(tf.slice(rows, [0, 0], [first, d]));
      if (ptr + first < k) parts.push(tf.slice(this.queue, [ptr + first, 0], [k - ptr - first, d]));
      this.queue.assign(tf.concat(parts, 0));
      this.ptr.assign(tf.scalar((ptr + count) % k, 'int32'));
      this.filled.assign(tf.scalar(Math.min(k, this.filled.dataSync()[0] + count), 'int32'));
    });
  }
}
