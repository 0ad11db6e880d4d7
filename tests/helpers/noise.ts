// A reproducible uniform sequence for test inputs (movies, targets): a linear congruential
// generator, the same values on every platform.

/** n values uniform in [lo, hi) from `seed`. */
export function uniformNoise(seed: number, n: number, lo = 0, hi = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((hi - lo) * s) / 2 ** 32;
  }
  return out;
}
