// The loops of conv2dHex (src/task/conv2d-hex.ts), in plain JavaScript, shaped for V8.
//
// Both passes that produce maps, the forward convolution and the input gradient, are one routine
// here, `correlate`: a correlation of a zero-padded map (so no tap needs a bounds check) with
// packed weights, for a block of output channels at a time held in local variables. The input
// gradient is the same correlation of the zero-padded output gradient with the kernel turned by
// 180 degrees and its channel axes swapped. The weight gradient, `weightGrad`, holds a block of
// output channels' sums for one (input channel, tap) in local variables, reading the output
// gradient transposed to (pixel, channel) so that a block's values lie side by side.
//
// Every sum accumulates in float64 in the order of the direct loops (forward: bias, then input
// channel, then tap; input gradient: output channel, then tap; weight gradient: sample, then
// pixel in row-major order), and the taps a bounds check would skip add exact zeros, so the
// results are bitwise those of the direct loops, in float32 and float64.
import type { FloatArray } from '../autograd/tensor.ts';

/** A correlation of padded maps: out (n, co, ho, wo) = bias + sum over c and taps of w * xp. */
export interface CorrelatePlan {
  readonly n: number;
  /** Channels read (the padded map's) and written. */
  readonly ci: number;
  readonly co: number;
  /** The padded map's rows and columns (ho + k - 1, wo + k - 1). */
  readonly hp: number;
  readonly wp: number;
  readonly ho: number;
  readonly wo: number;
  /** Each tap's offset in a padded map, row * wp + column, in summation order. */
  readonly offsets: Int32Array;
}

/**
 * Copies one sample's (ci, h, w) maps into `xp` (ci, hp, wp) at row and column offset `shift`
 * (negative: cropped), zero elsewhere.
 */
export function padSample(x: FloatArray, base: number, ci: number, h: number, w: number, shift: number, hp: number, wp: number, xp: Float64Array): void {
  xp.fill(0);
  const y0 = Math.max(0, -shift);
  const y1 = Math.min(h, hp - shift);
  const x0 = Math.max(0, -shift);
  const x1 = Math.min(w, wp - shift);
  for (let c = 0; c < ci; c++) {
    for (let y = y0; y < y1; y++) {
      const src = base + (c * h + y) * w;
      const dst = (c * hp + y + shift) * wp + shift;
      for (let z = x0; z < x1; z++) xp[dst + z] = x[src + z]!;
    }
  }
}

/** The channel block width for `channels` output channels: 8, or 4 when fewer than 5. */
export const blockWidth = (channels: number): 4 | 8 => (channels <= 4 ? 4 : 8);

/**
 * Packs weights for `correlate` in blocks of B output channels:
 * packed[((block * ci + c) * taps + t) * B + j] = weight of (block * B + j, c, tap t), 0 past co.
 * `at(o, c, t)` gives the weight.
 */
export function packWeights(co: number, ci: number, taps: number, B: number, at: (o: number, c: number, t: number) => number): Float64Array {
  const blocks = Math.ceil(co / B);
  const packed = new Float64Array(blocks * ci * taps * B);
  for (let b = 0; b < blocks; b++) {
    for (let j = 0; j < B && b * B + j < co; j++) {
      const o = b * B + j;
      for (let c = 0; c < ci; c++) for (let t = 0; t < taps; t++) packed[((b * ci + c) * taps + t) * B + j] = at(o, c, t);
    }
  }
  return packed;
}

/**
 * out[(s, o, pixel)] = bias[o] (0 without) + sum over c, t of packed weight * xp[c, pixel + offsets[t]],
 * for one sample s whose padded maps are `xp` (ci, hp, wp).
 */
export function correlateSample(xp: Float64Array, packed: Float64Array, B: 4 | 8, bias: FloatArray | null, p: CorrelatePlan, s: number, out: FloatArray): void {
  const { ci, co, hp, wp, ho, wo, offsets } = p;
  const T = offsets.length;
  const blocks = Math.ceil(co / B);
  const plane = ho * wo;
  const stride = hp * wp;
  for (let b = 0; b < blocks; b++) {
    const o0 = b * B;
    const wBase = b * ci * T * B;
    const bv = (j: number): number => (bias === null || o0 + j >= co ? 0 : bias[o0 + j]!);
    if (B === 8) {
      const b0 = bv(0), b1 = bv(1), b2 = bv(2), b3 = bv(3), b4 = bv(4), b5 = bv(5), b6 = bv(6), b7 = bv(7);
      const n = Math.min(8, co - o0);
      for (let yo = 0; yo < ho; yo++) {
        for (let xo = 0; xo < wo; xo++) {
          let a0 = b0, a1 = b1, a2 = b2, a3 = b3, a4 = b4, a5 = b5, a6 = b6, a7 = b7;
          let wi = wBase;
          let xb = yo * wp + xo;
          for (let c = 0; c < ci; c++) {
            for (let t = 0; t < T; t++) {
              const v = xp[xb + offsets[t]!]!;
              a0 += packed[wi]! * v;
              a1 += packed[wi + 1]! * v;
              a2 += packed[wi + 2]! * v;
              a3 += packed[wi + 3]! * v;
              a4 += packed[wi + 4]! * v;
              a5 += packed[wi + 5]! * v;
              a6 += packed[wi + 6]! * v;
              a7 += packed[wi + 7]! * v;
              wi += 8;
            }
            xb += stride;
          }
          const dst = (s * co + o0) * plane + yo * wo + xo;
          out[dst] = a0;
          if (n > 1) out[dst + plane] = a1;
          if (n > 2) out[dst + 2 * plane] = a2;
          if (n > 3) out[dst + 3 * plane] = a3;
          if (n > 4) out[dst + 4 * plane] = a4;
          if (n > 5) out[dst + 5 * plane] = a5;
          if (n > 6) out[dst + 6 * plane] = a6;
          if (n > 7) out[dst + 7 * plane] = a7;
        }
      }
    } else {
      const b0 = bv(0), b1 = bv(1), b2 = bv(2), b3 = bv(3);
      const n = Math.min(4, co - o0);
      for (let yo = 0; yo < ho; yo++) {
        for (let xo = 0; xo < wo; xo++) {
          let a0 = b0, a1 = b1, a2 = b2, a3 = b3;
          let wi = wBase;
          let xb = yo * wp + xo;
          for (let c = 0; c < ci; c++) {
            for (let t = 0; t < T; t++) {
              const v = xp[xb + offsets[t]!]!;
              a0 += packed[wi]! * v;
              a1 += packed[wi + 1]! * v;
              a2 += packed[wi + 2]! * v;
              a3 += packed[wi + 3]! * v;
              wi += 4;
            }
            xb += stride;
          }
          const dst = (s * co + o0) * plane + yo * wo + xo;
          out[dst] = a0;
          if (n > 1) out[dst + plane] = a1;
          if (n > 2) out[dst + 2 * plane] = a2;
          if (n > 3) out[dst + 3 * plane] = a3;
        }
      }
    }
  }
}

/**
 * Transposes one sample's output gradient g (co, ho * wo), starting at `base`, to
 * gt (pixel, block-padded channel): gt[pixel * cop + o], cop = blocks * B, 0 past co.
 */
export function transposeSample(g: FloatArray, base: number, co: number, plane: number, cop: number, gt: Float64Array): void {
  if (cop !== co) gt.fill(0);
  for (let o = 0; o < co; o++) {
    const src = base + o * plane;
    for (let i = 0; i < plane; i++) gt[i * cop + o] = g[src + i]!;
  }
}

/**
 * Adds one sample's terms to the weight gradient sums acc[(o * ci + c) * T + t] (every tap t of
 * `offsets`): the sum over output pixels of gt[pixel, o] * xp[c, pixel + offsets[t]], continuing
 * each running sum in pixel order.
 */
export function weightGradSample(xp: Float64Array, gt: Float64Array, B: 4 | 8, p: CorrelatePlan, acc: Float64Array): void {
  const { ci, co, hp, wp, ho, wo, offsets } = p;
  const T = offsets.length;
  const blocks = Math.ceil(co / B);
  const cop = blocks * B;
  for (let b = 0; b < blocks; b++) {
    const o0 = b * B;
    const n = Math.min(B, co - o0);
    for (let c = 0; c < ci; c++) {
      const xc = c * hp * wp;
      for (let t = 0; t < T; t++) {
        const xOff = xc + offsets[t]!;
        const at = (j: number): number => (o0 + j) * ci * T + c * T + t;
        const get = (j: number): number => (j < n ? acc[at(j)]! : 0);
        if (B === 8) {
          let a0 = get(0), a1 = get(1), a2 = get(2), a3 = get(3), a4 = get(4), a5 = get(5), a6 = get(6), a7 = get(7);
          let gi = o0;
          for (let yo = 0; yo < ho; yo++) {
            const row = xOff + yo * wp;
            for (let xo = 0; xo < wo; xo++) {
              const v = xp[row + xo]!;
              a0 += gt[gi]! * v;
              a1 += gt[gi + 1]! * v;
              a2 += gt[gi + 2]! * v;
              a3 += gt[gi + 3]! * v;
              a4 += gt[gi + 4]! * v;
              a5 += gt[gi + 5]! * v;
              a6 += gt[gi + 6]! * v;
              a7 += gt[gi + 7]! * v;
              gi += cop;
            }
          }
          const r = [a0, a1, a2, a3, a4, a5, a6, a7];
          for (let j = 0; j < n; j++) acc[at(j)] = r[j]!;
        } else {
          let a0 = get(0), a1 = get(1), a2 = get(2), a3 = get(3);
          let gi = o0;
          for (let yo = 0; yo < ho; yo++) {
            const row = xOff + yo * wp;
            for (let xo = 0; xo < wo; xo++) {
              const v = xp[row + xo]!;
              a0 += gt[gi]! * v;
              a1 += gt[gi + 1]! * v;
              a2 += gt[gi + 2]! * v;
              a3 += gt[gi + 3]! * v;
              gi += cop;
            }
          }
          const r = [a0, a1, a2, a3];
          for (let j = 0; j < n; j++) acc[at(j)] = r[j]!;
        }
      }
    }
  }
}
