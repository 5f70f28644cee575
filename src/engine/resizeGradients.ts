/**
 * Gradients of ResizeBilinear and ResizeNearestNeighbor as two matrix products.
 *
 * The backends' own gradient kernels are wrong in several ways (found by the engine fuzz,
 * test/engine/engineFuzz.ts): the cpu backend's ResizeBilinearGrad returns [batch, width, height,
 * channels] and ignores halfPixelCenters, its ResizeNearestNeighborGrad gives NaN or wrong sums; the
 * wasm backend's ignore halfPixelCenters, and nearest-neighbour alignCorners. A resize is linear
 * and separable: y[n,:,:,c] = Ah · x[n,:,:,c] · Awᵀ, where each row of Ah (Aw) holds the weights
 * the forward kernel gives the source rows (columns) of one output row (column). The gradient is
 * dx = Ahᵀ · dy · Aw, two batched matrix products on any backend (onnxruntime's GEMM on wasm-ort),
 * with the weights computed here by the forward kernels' own index arithmetic.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ResizeBilinear, ResizeNearestNeighbor, type GradConfig, type NamedAttrMap } from '@tensorflow/tfjs-core';

type Kind = 'bilinear' | 'nearest';

/** [outSize, inSize]: the weight of each source index in each output index, as tfjs' kernels compute it. */
export function resizeWeights(kind: Kind, inSize: number, outSize: number, alignCorners: boolean, halfPixelCenters: boolean): Float32Array {
  const weights = new Float32Array(outSize * inSize);
  const aligned = alignCorners && outSize > 1;
  const ratio = (aligned ? inSize - 1 : inSize) / (aligned ? outSize - 1 : outSize);
  for (let o = 0; o < outSize; o++) {
    if (kind === 'bilinear') {
      const source = halfPixelCenters ? ratio * (o + 0.5) - 0.5 : ratio * o;
      const floor = Math.max(0, Math.floor(source));
      const ceil = Math.min(inSize - 1, Math.ceil(source));
      const frac = source - floor;
      weights[o * inSize + floor] += 1 - frac;
      weights[o * inSize + ceil] += frac;
    } else {
      const source = halfPixelCenters ? ratio * (o + 0.5) : ratio * o;
      let nearest = Math.min(inSize - 1, alignCorners ? Math.round(source) : Math.floor(source));
      if (halfPixelCenters) nearest = Math.max(0, nearest);
      weights[o * inSize + nearest] = 1;
    }
  }
  return weights;
}

/** dx [N,H,W,C] = Ahᵀ · dy · Aw for dy [N,Ho,Wo,C]. */
function resizeGradient(kind: Kind, dy: tf.Tensor4D, imagesShape: number[], attrs: NamedAttrMap): tf.Tensor4D {
  const [n, h, w, c] = imagesShape;
  const [, ho, wo] = dy.shape;
  const alignCorners = attrs.alignCorners === true;
  const halfPixelCenters = attrs.halfPixelCenters === true;
  const ah = tf.tensor2d(resizeWeights(kind, h, ho, alignCorners, halfPixelCenters), [ho, h]);
  const aw = tf.tensor2d(resizeWeights(kind, w, wo, alignCorners, halfPixelCenters), [wo, w]);
  // Rows: [H,Ho] · [N,Ho,Wo·C]; then columns: [W,Wo] · [N·H,Wo,C].
  const rows = tf.matMul(ah, tf.reshape(dy, [n, ho, wo * c]), true, false);
  const cols = tf.matMul(aw, tf.reshape(rows, [n * h, wo, c]), true, false);
  return tf.reshape(cols, [n, h, w, c]);
}

function resizeGradConfig(kernelName: string, kind: Kind): GradConfig {
  return {
    kernelName,
    inputsToSave: ['images'],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: NamedAttrMap) => ({
      images: () => resizeGradient(kind, dy as tf.Tensor4D, saved[0].shape, attrs),
    }),
  };
}

const CONFIGS = [resizeGradConfig(ResizeBilinear, 'bilinear'), resizeGradConfig(ResizeNearestNeighbor, 'nearest')];

export function installResizeGradients(): void {
  for (const config of CONFIGS) if (tf.getGradient(config.kernelName) !== config) tf.registerGradient(config);
}
