// Natural-like textures for the procedural flow scenes: periodic 1/f^beta noise (the amplitude
// spectrum of natural images falls roughly as 1/f), made by filtering seeded white noise in the
// Fourier domain, normalised to zero mean and unit standard deviation, and sampled bilinearly
// with wrap-around at any real position.
import { checkInt, checkNumber, flowFail } from './errors.ts';
import { gaussian, type Xoshiro128 } from './random.ts';

/** A periodic square texture, size x size, zero mean, unit standard deviation. */
export interface Texture {
  readonly size: number;
  readonly data: Float32Array;
}

const twiddleCache = new Map<number, { cos: Float64Array; sin: Float64Array }>();

function twiddles(n: number): { cos: Float64Array; sin: Float64Array } {
  let t = twiddleCache.get(n);
  if (!t) {
    t = { cos: new Float64Array(n / 2), sin: new Float64Array(n / 2) };
    for (let k = 0; k < n / 2; k++) {
      t.cos[k] = Math.cos((2 * Math.PI * k) / n);
      t.sin[k] = Math.sin((2 * Math.PI * k) / n);
    }
    twiddleCache.set(n, t);
  }
  return t;
}

/** In-place iterative radix-2 FFT of length n (a power of two); sign -1 forward, +1 inverse (unscaled). */
export function fft(re: Float64Array, im: Float64Array, sign: 1 | -1): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      let t = re[i]!;
      re[i] = re[j]!;
      re[j] = t;
      t = im[i]!;
      im[i] = im[j]!;
      im[j] = t;
    }
  }
  const { cos, sin } = twiddles(n);
  for (let len = 2; len <= n; len <<= 1) {
    const half = len >> 1;
    const step = n / len;
    for (let i = 0; i < n; i += len) {
      for (let k = 0; k < half; k++) {
        const wr = cos[k * step]!;
        const wi = sign * sin[k * step]!;
        const a = i + k;
        const b = a + half;
        const xr = re[b]! * wr - im[b]! * wi;
        const xi = re[b]! * wi + im[b]! * wr;
        re[b] = re[a]! - xr;
        im[b] = im[a]! - xi;
        re[a] = re[a]! + xr;
        im[a] = im[a]! + xi;
      }
    }
  }
}

/** 2-D FFT of an n x n array (rows, then columns), in place. */
function fft2(re: Float64Array, im: Float64Array, n: number, sign: 1 | -1): void {
  const r = new Float64Array(n);
  const i = new Float64Array(n);
  for (let y = 0; y < n; y++) {
    r.set(re.subarray(y * n, (y + 1) * n));
    i.set(im.subarray(y * n, (y + 1) * n));
    fft(r, i, sign);
    re.set(r, y * n);
    im.set(i, y * n);
  }
  for (let x = 0; x < n; x++) {
    for (let y = 0; y < n; y++) {
      r[y] = re[y * n + x]!;
      i[y] = im[y * n + x]!;
    }
    fft(r, i, sign);
    for (let y = 0; y < n; y++) {
      re[y * n + x] = r[y]!;
      im[y * n + x] = i[y]!;
    }
  }
}

/**
 * A periodic 1/f^beta texture of size x size (a power of two): white Gaussian noise whose
 * amplitude spectrum is multiplied by 1/|f|^beta (f in cycles per texture; the mean removed),
 * normalised to zero mean and unit standard deviation.
 */
export function pinkNoiseTexture(rng: Xoshiro128, size = 256, beta = 1): Texture {
  checkInt('texture size', size, 2);
  if ((size & (size - 1)) !== 0) flowFail('texture size', 'a power of two', size);
  checkNumber('texture beta', beta, 0);
  const n = size;
  const re = new Float64Array(n * n);
  const im = new Float64Array(n * n);
  for (let k = 0; k < n * n; k++) re[k] = gaussian(rng);
  fft2(re, im, n, -1);
  for (let y = 0; y < n; y++) {
    const fy = y <= n / 2 ? y : y - n;
    for (let x = 0; x < n; x++) {
      const fx = x <= n / 2 ? x : x - n;
      const f = Math.sqrt(fx * fx + fy * fy);
      const g = f === 0 ? 0 : f ** -beta;
      re[y * n + x]! *= g;
      im[y * n + x]! *= g;
    }
  }
  fft2(re, im, n, 1);
  let mean = 0;
  for (let k = 0; k < n * n; k++) mean += re[k]!;
  mean /= n * n;
  let v = 0;
  for (let k = 0; k < n * n; k++) v += (re[k]! - mean) ** 2;
  const sd = Math.sqrt(v / (n * n)) || 1;
  const data = new Float32Array(n * n);
  for (let k = 0; k < n * n; k++) data[k] = (re[k]! - mean) / sd;
  return { size: n, data };
}

/** Bilinear sample of a periodic texture at real texel coordinates (x along rows' columns, y down rows). */
export function sampleTexture(t: Texture, x: number, y: number): number {
  const n = t.size;
  const m = n - 1;
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const ax = x - x0;
  const ay = y - y0;
  const i0 = x0 & m;
  const i1 = (x0 + 1) & m;
  const r0 = (y0 & m) * n;
  const r1 = ((y0 + 1) & m) * n;
  const d = t.data;
  const top = d[r0 + i0]! + (d[r0 + i1]! - d[r0 + i0]!) * ax;
  const bot = d[r1 + i0]! + (d[r1 + i1]! - d[r1 + i0]!) * ax;
  return top + (bot - top) * ay;
}
