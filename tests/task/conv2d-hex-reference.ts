// conv2dHex's first loops (src/task/conv2d-hex.ts before its kernels moved to
// src/task/conv2d-hex-kernels.ts), kept as the reference the fast kernels must equal bitwise:
// direct loops over the used taps, bounds by range, float64 sums in the plain order.
import type { FloatArray } from '../../src/autograd/tensor.ts';

export interface ConvAttrs {
  readonly n: number;
  readonly ci: number;
  readonly h: number;
  readonly w: number;
  readonly co: number;
  readonly k: number;
  readonly pad: number;
  readonly ho: number;
  readonly wo: number;
  /** Taps used by the forward pass (mask entries 1), as ky * k + kx. */
  readonly taps: Int32Array;
  /** Every tap (the weight gradient is taken at all of them). */
  readonly allTaps: Int32Array;
  readonly hasBias: boolean;
}

/** The output rows (or columns) yo with 0 <= yo + d < size, within [0, out). */
const range = (d: number, size: number, out: number): [number, number] => [Math.max(0, -d), Math.min(out, size - d)];

/** out (n, co, ho, wo) = bias + sum over ci and taps of w * x shifted. */
export function referenceForward(x: FloatArray, wt: FloatArray, bias: FloatArray | null, a: ConvAttrs, out: FloatArray): void {
  const { n, ci, h, w, co, k, pad, ho, wo, taps } = a;
  const plane = ho * wo;
  const acc = new Float64Array(plane);
  for (let s = 0; s < n; s++) {
    for (let o = 0; o < co; o++) {
      acc.fill(bias === null ? 0 : bias[o]!);
      for (let c = 0; c < ci; c++) {
        const xBase = (s * ci + c) * h * w;
        const wBase = (o * ci + c) * k * k;
        for (let t = 0; t < taps.length; t++) {
          const tap = taps[t]!;
          const ky = (tap / k) | 0;
          const kx = tap - ky * k;
          const wv = wt[wBase + tap]!;
          const dy = ky - pad;
          const dx = kx - pad;
          const [y0, y1] = range(dy, h, ho);
          const [x0, x1] = range(dx, w, wo);
          for (let yo = y0; yo < y1; yo++) {
            const src = xBase + (yo + dy) * w + dx;
            const dst = yo * wo;
            for (let xo = x0; xo < x1; xo++) acc[dst + xo]! += wv * x[src + xo]!;
          }
        }
      }
      out.set(acc, (s * co + o) * plane);
    }
  }
}

/** gx (n, ci, h, w) = the transposed convolution of g (n, co, ho, wo) with the used taps. */
export function referenceInputGrad(g: FloatArray, wt: FloatArray, a: ConvAttrs, gx: FloatArray): void {
  const { n, ci, h, w, co, k, pad, ho, wo, taps } = a;
  const acc = new Float64Array(h * w);
  for (let s = 0; s < n; s++) {
    for (let c = 0; c < ci; c++) {
      acc.fill(0);
      for (let o = 0; o < co; o++) {
        const gBase = (s * co + o) * ho * wo;
        const wBase = (o * ci + c) * k * k;
        for (let t = 0; t < taps.length; t++) {
          const tap = taps[t]!;
          const ky = (tap / k) | 0;
          const kx = tap - ky * k;
          const wv = wt[wBase + tap]!;
          const dy = ky - pad;
          const dx = kx - pad;
          const [y0, y1] = range(dy, h, ho);
          const [x0, x1] = range(dx, w, wo);
          for (let yo = y0; yo < y1; yo++) {
            const dst = (yo + dy) * w + dx;
            const src = gBase + yo * wo;
            for (let xo = x0; xo < x1; xo++) acc[dst + xo]! += wv * g[src + xo]!;
          }
        }
      }
      gx.set(acc, (s * ci + c) * h * w);
    }
  }
}

/** gw (co, ci, k, k) = the correlation of g with x at every tap; gb (co) = sum of g. */
export function referenceWeightGrad(g: FloatArray, x: FloatArray, a: ConvAttrs, gw: FloatArray | null, gb: FloatArray | null): void {
  const { n, ci, h, w, co, k, pad, ho, wo, allTaps } = a;
  if (gb !== null) {
    for (let o = 0; o < co; o++) {
      let sum = 0;
      for (let s = 0; s < n; s++) {
        const base = (s * co + o) * ho * wo;
        for (let i = 0; i < ho * wo; i++) sum += g[base + i]!;
      }
      gb[o] = sum;
    }
  }
  if (gw === null) return;
  for (let o = 0; o < co; o++) {
    for (let c = 0; c < ci; c++) {
      const wBase = (o * ci + c) * k * k;
      for (let t = 0; t < allTaps.length; t++) {
        const tap = allTaps[t]!;
        const ky = (tap / k) | 0;
        const kx = tap - ky * k;
        const dy = ky - pad;
        const dx = kx - pad;
        const [y0, y1] = range(dy, h, ho);
        const [x0, x1] = range(dx, w, wo);
        let sum = 0;
        for (let s = 0; s < n; s++) {
          const gBase = (s * co + o) * ho * wo;
          const xBase = (s * ci + c) * h * w;
          for (let yo = y0; yo < y1; yo++) {
            const gRow = gBase + yo * wo;
            const xRow = xBase + (yo + dy) * w + dx;
            for (let xo = x0; xo < x1; xo++) sum += g[gRow + xo]! * x[xRow + xo]!;
          }
        }
        gw[wBase + tap] = sum;
      }
    }
  }
}

