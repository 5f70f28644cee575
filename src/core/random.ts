/**
 * Seeded random numbers for everything that must repeat: weight initialisation, data order,
 * augmentations. xoshiro128** (Blackman and Vigna), whose 128-bit state fits in a checkpoint, so a
 * resumed run draws exactly the numbers an uninterrupted one would have drawn.
 */

export type RandomState = [number, number, number, number];

export class Random {
  private s: Uint32Array;

  constructor(seed: number | RandomState = 0) {
    this.s = new Uint32Array(4);
    if (Array.isArray(seed)) this.s.set(seed);
    else this.seed(seed);
  }

  /** Re-seed from one integer through splitmix32, so nearby seeds give unrelated streams. */
  seed(seed: number): void {
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if (this.s[0] === 0 && this.s[1] === 0 && this.s[2] === 0 && this.s[3] === 0) this.s[0] = 1;
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform in [lo, hi). */
  uniform(lo = 0, hi = 1): number {
    return lo + (hi - lo) * this.next();
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box-Muller). */
  normal(mean = 0, std = 1): number {
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    return mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /**
   * Gamma(shape, 1) (Marsaglia and Tsang, ACM TOMS 26(3), 2000); below shape 1 through
   * Gamma(shape + 1) * U^(1 / shape).
   */
  gamma(shape: number): number {
    if (shape < 1) {
      let u = 0;
      while (u === 0) u = this.next();
      return this.gamma(shape + 1) * u ** (1 / shape);
    }
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      const x = this.normal();
      const v = (1 + c * x) ** 3;
      if (v <= 0) continue;
      const u = this.next();
      if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
    }
  }

  /** Beta(a, b), as the ratio of two gamma draws (both 0 for tiny a and b, which put Beta's mass at 0 and 1). */
  beta(a: number, b: number): number {
    const x = this.gamma(a);
    const sum = x + this.gamma(b);
    return sum > 0 ? x / sum : this.chance(a / (a + b)) ? 1 : 0;
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** A permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): Int32Array {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = out[i];
      out[i] = out[j];
      out[j] = tmp;
    }
    return out;
  }

  /** An independent stream derived from this one (e.g. one per worker or per sample). */
  fork(): Random {
    return new Random([this.nextUint32(), this.nextUint32(), this.nextUint32(), this.nextUint32() | 1]);
  }

  getState(): RandomState {
    return [this.s[0], this.s[1], this.s[2], this.s[3]];
  }

  setState(state: RandomState): void {
    this.s.set(state);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** A generator for one (seed, stream, index) triple: the same sample gets the same augmentation. */
export function randomFor(seed: number, ...keys: number[]): Random {
  let h = seed >>> 0;
  for (const k of keys) h = Math.imul(h ^ (k >>> 0), 0x9e3779b1) ^ (h >>> 15);
  return new Random(h >>> 0);
}
