/**
 * The inner loop of separable filters: `dst[at + i] = Σ_k src[offsets[k] + i] · weights[k]` for
 * i < n, one function per number of taps, generated once and cached.
 *
 * Why generated: with the taps' offsets and weights in local variables and the sum written out,
 * V8 keeps them in registers and makes one pass over the row; a loop over the taps re-reads them
 * and updates `dst` once per tap. Measured on a 96x96x3 image with 9 taps: 0.25 ms against
 * 0.75-0.9 ms for the loops.
 */

export type RowDot = (src: Float32Array | Uint8Array, offsets: Int32Array, weights: Float32Array, dst: Float32Array, at: number, n: number) => void;

const cache = new Map<number, RowDot>();

export function rowDot(taps: number): RowDot {
  let fn = cache.get(taps);
  if (!fn) {
    const k = Array.from({ length: taps }, (_, i) => i);
    const locals = k.map((i) => `const o${i} = offsets[${i}], w${i} = weights[${i}];`).join('\n');
    const sum = taps ? k.map((i) => `src[o${i} + i] * w${i}`).join(' + ') : '0';
    fn = new Function('src', 'offsets', 'weights', 'dst', 'at', 'n', `${locals}\nfor (let i = 0; i < n; i++) dst[at + i] = ${sum};`) as RowDot;
    cache.set(taps, fn);
  }
  return fn;
}
