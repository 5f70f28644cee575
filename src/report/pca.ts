/**
 * Principal component analysis of feature vectors to two dimensions, for the report's scatter
 * plot: centre the rows, then find the top eigenvectors of the covariance XᵀX/(n-1) by power
 * iteration (each step multiplies by X and Xᵀ, never forming the d×d matrix: O(n·d) per step),
 * the second kept orthogonal to the first. Deterministic (fixed start vector).
 */

export interface PcaResult {
  /** Coordinates of each row on the components: `coords[k][i]`. */
  coords: number[][];
  /** Unit component vectors, `d` long. */
  components: Float64Array[];
  /** Variance along each component. */
  variance: number[];
  /** Fraction of the total variance each component explains. */
  explained: number[];
}

/** `rows` is `n × d`, row-major. */
export function pca(rows: Float32Array | Float64Array, n: number, d: number, k = 2, iterations = 200): PcaResult {
  if (rows.length !== n * d) throw new Error(`pca: ${rows.length} values do not make ${n} rows of ${d}`);
  const x = new Float64Array(n * d);
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += rows[i * d + j] / n;
  let total = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const v = rows[i * d + j] - mean[j];
      x[i * d + j] = v;
      total += v * v;
    }
  }
  const denom = Math.max(1, n - 1);
  total /= denom;
  const components: Float64Array[] = [];
  const variance: number[] = [];
  const xv = new Float64Array(n);
  for (let c = 0; c < Math.min(k, d); c++) {
    let v = new Float64Array(d);
    // A fixed, generic start: not orthogonal to any component in practice.
    for (let j = 0; j < d; j++) v[j] = 1 + ((j * 7919) % 13) / 13;
    let lambda = 0;
    for (let it = 0; it < iterations; it++) {
      for (const u of components) orthogonalise(v, u);
      normalise(v);
      // w = Xᵀ (X v)
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += x[i * d + j] * v[j];
        xv[i] = s;
      }
      const w = new Float64Array(d);
      for (let i = 0; i < n; i++) {
        const s = xv[i];
        if (s === 0) continue;
        for (let j = 0; j < d; j++) w[j] += x[i * d + j] * s;
      }
      for (const u of components) orthogonalise(w, u);
      let sq = 0;
      for (let j = 0; j < d; j++) sq += w[j] * w[j];
      const norm = Math.sqrt(sq);
      const next = norm / denom;
      v = norm > 0 ? w.map((t) => t / norm) : w;
      if (Math.abs(next - lambda) <= 1e-10 * Math.max(1, next) && it > 5) {
        lambda = next;
        break;
      }
      lambda = next;
    }
    // A sign convention, so that results do not flip between runs: the largest entry positive.
    let big = 0;
    for (let j = 1; j < d; j++) if (Math.abs(v[j]) > Math.abs(v[big])) big = j;
    if (v[big] < 0) v = v.map((t) => -t);
    components.push(v);
    variance.push(lambda);
  }
  const coords = components.map((u) => {
    const out: number[] = new Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += x[i * d + j] * u[j];
      out[i] = s;
    }
    return out;
  });
  return { coords, components, variance, explained: variance.map((v) => (total > 0 ? v / total : 0)) };
}

function orthogonalise(v: Float64Array, u: Float64Array): void {
  let dot = 0;
  for (let j = 0; j < v.length; j++) dot += v[j] * u[j];
  for (let j = 0; j < v.length; j++) v[j] -= dot * u[j];
}

function normalise(v: Float64Array): void {
  let s = 0;
  for (let j = 0; j < v.length; j++) s += v[j] * v[j];
  const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
  for (let j = 0; j < v.length; j++) v[j] *= inv;
}
