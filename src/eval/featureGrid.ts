/**
 * Spatially pooled features for the benchmarks (`cvw benchmark --pool N`): the last stage's map
 * average-pooled to an N x N grid and flattened, instead of the global average pool. This is the
 * pooling OpenSelfSup's `MultiPooling` and VISSL's layer-wise linear evaluation use (ResNet-50's
 * res5 pooled to 2 x 2, 8192-d; Goyal et al., Scaling and Benchmarking Self-Supervised Visual
 * Representation Learning, ICCV 2019): a linear probe then also sees where a feature fires.
 */
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../core/problems';
import type { Algorithm } from '../models/algorithms/types';

/** Window bounds of adaptive average pooling (as PyTorch's adaptive_avg_pool2d): cell i of n over size s. */
function window(i: number, n: number, size: number): [number, number] {
  return [Math.floor((i * size) / n), Math.ceil(((i + 1) * size) / n)];
}

/** `[b, h, w, c]` → `[b, grid * grid * c]`, cells in row-major order, channels fastest. */
export function gridPool(map: tf.Tensor4D, grid: number): tf.Tensor2D {
  const [b, h, w, c] = map.shape;
  if (h < grid || w < grid) throw new UserError(`--pool ${grid}: the last feature map is only ${h}x${w}; use a grid of at most ${Math.min(h, w)}`);
  return tf.tidy(() => {
    const cells: tf.Tensor[] = [];
    for (let i = 0; i < grid; i++) {
      const [y0, y1] = window(i, grid, h);
      for (let j = 0; j < grid; j++) {
        const [x0, x1] = window(j, grid, w);
        cells.push(tf.mean(tf.slice(map, [0, y0, x0, 0], [b, y1 - y0, x1 - x0, c]), [1, 2]));
      }
    }
    return tf.reshape(tf.stack(cells, 1), [b, grid * grid * c]) as tf.Tensor2D;
  });
}

/** A backbone whose tokens sit on a grid of patches (VisionTransformer), or whose features are pooled maps (ConvNeXt): its map pools. */
interface PatchMapBackbone {
  forwardPatchMap(x: tf.Tensor4D): tf.Tensor4D;
}

/**
 * Make `model.extract` return grid-pooled features of its backbone's last stage: a convolutional
 * (or Swin) backbone's last map, a ConvNeXt's normalised last map, or a ViT's patch tokens laid out
 * on their grid (the class token left out, as in the avg_pool feature). Other backbones give
 * vectors, which have no grid to pool.
 */
export function useGridFeatures(model: Algorithm, grid: number, type: string): void {
  const backbone = model.featureBackbone?.() ?? model.backbone;
  const patchMap = (backbone as Partial<PatchMapBackbone>).forwardPatchMap?.bind(backbone);
  model.extract = (images: tf.Tensor4D) =>
    tf.tidy(() => {
      if (patchMap) return gridPool(patchMap(images), grid);
      const outs = backbone.forward(images);
      const last = outs[outs.length - 1];
      if (last.rank !== 4) throw new UserError(`--pool ${grid}: the backbone of ${type} gives tokens (shape [${last.shape.join(', ')}]), not a feature map; only convolutional backbones can be grid-pooled`);
      return gridPool(last as tf.Tensor4D, grid);
    });
}
