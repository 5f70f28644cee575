/**
 * Plain-loop convolution gradients on NHWC float arrays: the fallback of the composed kernels for
 * inputs they do not cover (non-float32 tensors), and the oracle of the tests where the cpu
 * backend is no reference (it ignores dilations in its depthwise gradients).
 *
 * Index convention, for every kernel here: input row `h = y * strideH + i * dilationH - padTop`
 * meets output row `y` through filter row `i`.
 */

export interface ConvGeometry {
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  dilationHeight: number;
  dilationWidth: number;
  padTop: number;
  padLeft: number;
}

/** dx [N,H,W,Ci] of a regular convolution from dy [N,Ho,Wo,Co] and filter [kh,kw,Ci,Co]. */
export function conv2dBackpropInputLoops(g: ConvGeometry, dy: ArrayLike<number>, filter: ArrayLike<number>, outChannels: number): Float32Array {
  const { batch, inHeight: H, inWidth: W, inChannels: Ci, outHeight: Ho, outWidth: Wo } = g;
  const Co = outChannels;
  const dx = new Float32Array(batch * H * W * Ci);
  for (let n = 0; n < batch; n++)
    for (let y = 0; y < Ho; y++)
      for (let i = 0; i < g.filterHeight; i++) {
        const h = y * g.strideHeight + i * g.dilationHeight - g.padTop;
        if (h < 0 || h >= H) continue;
        for (let x = 0; x < Wo; x++)
          for (let j = 0; j < g.filterWidth; j++) {
            const w = x * g.strideWidth + j * g.dilationWidth - g.padLeft;
            if (w < 0 || w >= W) continue;
            const dyBase = ((n * Ho + y) * Wo + x) * Co;
            const dxBase = ((n * H + h) * W + w) * Ci;
            const fBase = (i * g.filterWidth + j) * Ci * Co;
            for (let c = 0; c < Ci; c++) {
              let acc = 0;
              for (let o = 0; o < Co; o++) acc += dy[dyBase + o] * filter[fBase + c * Co + o];
              dx[dxBase + c] += acc;
            }
          }
      }
  return dx;
}

/** dW [kh,kw,Ci,Co] of a regular convolution from x [N,H,W,Ci] and dy [N,Ho,Wo,Co]. */
export function conv2dBackpropFilterLoops(g: ConvGeometry, x: ArrayLike<number>, dy: ArrayLike<number>, outChannels: number): Float32Array {
  const { batch, inHeight: H, inWidth: W, inChannels: Ci, outHeight: Ho, outWidth: Wo } = g;
  const Co = outChannels;
  const dw = new Float32Array(g.filterHeight * g.filterWidth * Ci * Co);
  for (let n = 0; n < batch; n++)
    for (let y = 0; y < Ho; y++)
      for (let i = 0; i < g.filterHeight; i++) {
        const h = y * g.strideHeight + i * g.dilationHeight - g.padTop;
        if (h < 0 || h >= H) continue;
        for (let xo = 0; xo < Wo; xo++)
          for (let j = 0; j < g.filterWidth; j++) {
            const w = xo * g.strideWidth + j * g.dilationWidth - g.padLeft;
            if (w < 0 || w >= W) continue;
            const dyBase = ((n * Ho + y) * Wo + xo) * Co;
            const xBase = ((n * H + h) * W + w) * Ci;
            const fBase = (i * g.filterWidth + j) * Ci * Co;
            for (let c = 0; c < Ci; c++) {
              const xv = x[xBase + c];
              for (let o = 0; o < Co; o++) dw[fBase + c * Co + o] += xv * dy[dyBase + o];
            }
          }
      }
  return dw;
}

/** dx [N,H,W,C] of a depthwise convolution from dy [N,Ho,Wo,C*M] and filter [kh,kw,C,M]. */
export function depthwiseBackpropInputLoops(g: ConvGeometry, dy: ArrayLike<number>, filter: ArrayLike<number>, multiplier: number): Float32Array {
  const { batch, inHeight: H, inWidth: W, inChannels: C, outHeight: Ho, outWidth: Wo } = g;
  const M = multiplier;
  const dx = new Float32Array(batch * H * W * C);
  for (let n = 0; n < batch; n++)
    for (let y = 0; y < Ho; y++)
      for (let i = 0; i < g.filterHeight; i++) {
        const h = y * g.strideHeight + i * g.dilationHeight - g.padTop;
        if (h < 0 || h >= H) continue;
        for (let x = 0; x < Wo; x++)
          for (let j = 0; j < g.filterWidth; j++) {
            const w = x * g.strideWidth + j * g.dilationWidth - g.padLeft;
            if (w < 0 || w >= W) continue;
            const dyBase = ((n * Ho + y) * Wo + x) * C * M;
            const dxBase = ((n * H + h) * W + w) * C;
            const fBase = (i * g.filterWidth + j) * C * M;
            for (let c = 0; c < C; c++) {
              let acc = 0;
              for (let m = 0; m < M; m++) acc += dy[dyBase + c * M + m] * filter[fBase + c * M + m];
              dx[dxBase + c] += acc;
            }
          }
      }
  return dx;
}

/** dW [kh,kw,C,M] of a depthwise convolution from x [N,H,W,C] and dy [N,Ho,Wo,C*M]. */
export function depthwiseBackpropFilterLoops(g: ConvGeometry, x: ArrayLike<number>, dy: ArrayLike<number>, multiplier: number): Float32Array {
  const { batch, inHeight: H, inWidth: W, inChannels: C, outHeight: Ho, outWidth: Wo } = g;
  const M = multiplier;
  const dw = new Float32Array(g.filterHeight * g.filterWidth * C * M);
  for (let n = 0; n < batch; n++)
    for (let y = 0; y < Ho; y++)
      for (let i = 0; i < g.filterHeight; i++) {
        const h = y * g.strideHeight + i * g.dilationHeight - g.padTop;
        if (h < 0 || h >= H) continue;
        for (let xo = 0; xo < Wo; xo++)
          for (let j = 0; j < g.filterWidth; j++) {
            const w = xo * g.strideWidth + j * g.dilationWidth - g.padLeft;
            if (w < 0 || w >= W) continue;
            const dyBase = ((n * Ho + y) * Wo + xo) * C * M;
            const xBase = ((n * H + h) * W + w) * C;
            const fBase = (i * g.filterWidth + j) * C * M;
            for (let c = 0; c < C; c++) {
              const xv = x[xBase + c];
              for (let m = 0; m < M; m++) dw[fBase + c * M + m] += xv * dy[dyBase + c * M + m];
            }
          }
      }
  return dw;
}
