// flyvis's Conv2dHexSpace as an op: a 2-D convolution (stride 1, zero padding, torch's
// cross-correlation) of a hexagonal lattice stored in a cartesian map, with the kernel masked to
// a hexagon. The loops run over the mask's taps only, on zero-padded copies of each sample's maps,
// a block of output channels at a time, and accumulate in float64 (one rounding per output
// value); they run at every frame of every sample, forward and backward: WebAssembly SIMD kernels
// (conv2d-hex-wasm.ts) where they run, else the same loops in JavaScript (conv2d-hex-kernels.ts),
// with the same bits.
//
// Gradients follow flyvis. Its Conv2dHexSpace multiplies `weight.data` by the mask in place at
// every forward pass, outside autograd, then convolves: torch's `weight.grad` is therefore the
// plain convolution's weight gradient at the masked weight, at every kernel entry, the masked
// ones included (the mask passes the gradient straight through, as flyvis's in-place clamp of the
// network's parameters does). The VJP here returns exactly that; the next forward pass ignores the
// masked entries again. The input and bias gradients are those of the masked convolution.
import { AutogradError, Tensor, allocate, assertTensor, formatShape, type FloatArray } from '../autograd/tensor.ts';
import { defineOp } from '../autograd/tape.ts';
import { stridedPositions } from '../graph/lattice.ts';
import { type CorrelatePlan, blockWidth, correlateSample, packWeights, padSample, transposeSample, weightGradSample } from './conv2d-hex-kernels.ts';
import { conv2dHexWasm } from './conv2d-hex-wasm.ts';

/**
 * flyvis's hexagonal kernel mask for an odd kernel size k (Conv2dHexSpace): 1 at the
 * get_hex_coords(k // 2) positions shifted to 0..k-1 (kernel row u, column v), 0 elsewhere.
 * For k = 5 it zeroes the entries with u + v < 2 or u + v > 6. Row-major (k, k).
 */
export function hexKernelMask(k: number): Uint8Array {
  if (!Number.isSafeInteger(k) || k < 1 || k % 2 === 0) throw new AutogradError(`hexKernelMask: kernel size must be a positive odd integer, got ${k}`);
  const r = (k - 1) / 2;
  const { u, v } = stridedPositions(r, 1, 1);
  const mask = new Uint8Array(k * k);
  for (let i = 0; i < u.length; i++) mask[(u[i]! + r) * k + (v[i]! + r)] = 1;
  return mask;
}

export interface Conv2dHexOptions {
  /** Zero padding on every side (flyvis: (kernel_size - 1) / 2, keeping the map size). Default: that. */
  readonly padding?: number;
  /**
   * The kernel mask, row-major (k, k), 1 = used (default: hexKernelMask(k) for k > 1, none for
   * k = 1, as flyvis). null: a plain convolution with every kernel entry.
   */
  readonly mask?: Uint8Array | null;
}

interface ConvAttrs {
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
  readonly hasBias: boolean;
}

/** The forward correlation's plan: x padded by `pad` on every side, the taps at `taps`. */
function forwardPlan(a: ConvAttrs, taps: Int32Array): CorrelatePlan {
  const { n, ci, co, k, ho, wo } = a;
  const hp = ho + k - 1;
  const wp = wo + k - 1;
  return { n, ci, co, hp, wp, ho, wo, offsets: Int32Array.from(taps, (tap) => Math.floor(tap / k) * wp + (tap % k)) };
}

/** out (n, co, ho, wo) = bias + sum over ci and the used taps of w * x shifted (zero padding). */
function forwardKernel(x: FloatArray, wt: FloatArray, bias: FloatArray | null, a: ConvAttrs, out: FloatArray): void {
  const { n, ci, h, w, co, k, pad, taps } = a;
  const p = forwardPlan(a, taps);
  const B = blockWidth(co);
  const packed = packWeights(co, ci, taps.length, B, (o, c, t) => wt[(o * ci + c) * k * k + taps[t]!]!);
  const fill = (s: number, xp: Float64Array): void => padSample(x, s * ci * h * w, ci, h, w, pad, p.hp, p.wp, xp);
  correlate(p, packed, B, bias, fill, out);
}

/** correlateSample over the samples, on the wasm kernels where they run, else in JavaScript. */
function correlate(p: CorrelatePlan, packed: Float64Array, B: 4 | 8, bias: FloatArray | null, fill: (s: number, xp: Float64Array) => void, out: FloatArray): void {
  const wasm = conv2dHexWasm();
  if (wasm !== null) return wasm.correlate(p, packed, B, bias, fill, out);
  const xp = new Float64Array(p.ci * p.hp * p.wp);
  for (let s = 0; s < p.n; s++) {
    fill(s, xp);
    correlateSample(xp, packed, B, bias, p, s, out);
  }
}

/**
 * gx (n, ci, h, w) = the transposed convolution of g (n, co, ho, wo) with the used taps: the
 * correlation of g padded by k - 1 - pad with the kernel turned by 180 degrees, channels swapped
 * (taps in the forward order, so each sum runs over output channel, then tap, as the direct loop).
 */
function inputGradKernel(g: FloatArray, wt: FloatArray, a: ConvAttrs, gx: FloatArray): void {
  const { n, ci, h, w, co, k, pad, ho, wo, taps } = a;
  const hp = h + k - 1;
  const wp = w + k - 1;
  const offsets = Int32Array.from(taps, (tap) => (k - 1 - Math.floor(tap / k)) * wp + (k - 1 - (tap % k)));
  const p: CorrelatePlan = { n, ci: co, co: ci, hp, wp, ho: h, wo: w, offsets };
  const B = blockWidth(ci);
  const packed = packWeights(ci, co, taps.length, B, (c, o, t) => wt[(o * ci + c) * k * k + taps[t]!]!);
  const fill = (s: number, gp: Float64Array): void => padSample(g, s * co * ho * wo, co, ho, wo, k - 1 - pad, hp, wp, gp);
  correlate(p, packed, B, null, fill, gx);
}

/** gw (co, ci, k, k) = the correlation of g with x at every kernel entry; gb (co) = sum of g. */
function weightGradKernel(g: FloatArray, x: FloatArray, a: ConvAttrs, gw: FloatArray | null, gb: FloatArray | null): void {
  const { n, ci, h, w, co, k, pad, ho, wo } = a;
  const plane = ho * wo;
  if (gb !== null) {
    for (let o = 0; o < co; o++) {
      let sum = 0;
      for (let s = 0; s < n; s++) {
        const base = (s * co + o) * plane;
        for (let i = 0; i < plane; i++) sum += g[base + i]!;
      }
      gb[o] = sum;
    }
  }
  if (gw === null) return;
  const K = k * k;
  const p = forwardPlan(a, Int32Array.from({ length: K }, (_, i) => i));
  const B = blockWidth(co);
  const cop = Math.ceil(co / B) * B;
  const fillX = (s: number, xp: Float64Array): void => padSample(x, s * ci * h * w, ci, h, w, pad, p.hp, p.wp, xp);
  const fillG = (s: number, gt: Float64Array): void => transposeSample(g, s * co * plane, co, plane, cop, gt);
  const wasm = conv2dHexWasm();
  if (wasm !== null) {
    // the sums in the block layout ((block * ci + c) * K + t) * B + j
    const acc = wasm.weightGrad(p, B, fillX, fillG);
    for (let o = 0; o < co; o++) {
      const blk = Math.floor(o / B);
      const j = o - blk * B;
      for (let c = 0; c < ci; c++) for (let t = 0; t < K; t++) gw[(o * ci + c) * K + t] = acc[((blk * ci + c) * K + t) * B + j]!;
    }
    return;
  }
  const xp = new Float64Array(ci * p.hp * p.wp);
  const gt = new Float64Array(plane * cop);
  const acc = new Float64Array(co * ci * K);
  for (let s = 0; s < n; s++) {
    fillX(s, xp);
    fillG(s, gt);
    weightGradSample(xp, gt, B, p, acc);
  }
  gw.set(acc);
}

const conv2dHexOp = defineOp<ConvAttrs>({
  name: 'conv2dHex',
  forward(inputs, a) {
    const [x, wt, b] = inputs;
    const out = allocate(a.n * a.co * a.ho * a.wo, x!.dtype);
    forwardKernel(x!.data, wt!.data, a.hasBias ? b!.data : null, a, out);
    return { out: new Tensor(out, [a.n, a.co, a.ho, a.wo]) };
  },
  vjp(g, { inputs, attrs: a, needsGrad }) {
    const [x, wt, b] = inputs;
    let gx: Tensor | null = null;
    if (needsGrad[0]) {
      const data = allocate(x!.size, x!.dtype);
      inputGradKernel(g.data, wt!.data, a, data);
      gx = new Tensor(data, x!.shape);
    }
    const gw = needsGrad[1] ? allocate(wt!.size, wt!.dtype) : null;
    const gb = a.hasBias && needsGrad[2] ? allocate(b!.size, b!.dtype) : null;
    if (gw !== null || gb !== null) weightGradKernel(g.data, x!.data, a, gw, gb);
    const grads: (Tensor | null)[] = [gx, gw === null ? null : new Tensor(gw, wt!.shape)];
    if (a.hasBias) grads.push(gb === null ? null : new Tensor(gb, b!.shape));
    return grads;
  },
});

/**
 * flyvis's Conv2dHexSpace forward: x (batch, in_channels, H, W), weight (out_channels,
 * in_channels, k, k) with k odd, bias (out_channels) or null; zero padding (k - 1) / 2 by
 * default, stride 1; the weight masked by `options.mask` (default: the hexagonal mask for k > 1).
 * Returns (batch, out_channels, H + 2 padding - k + 1, W + 2 padding - k + 1). The weight
 * gradient is taken at every kernel entry (see the file comment: flyvis's in-place mask).
 */
export function conv2dHex(x: Tensor, weight: Tensor, bias: Tensor | null, options: Conv2dHexOptions = {}): Tensor {
  assertTensor(x, 'conv2dHex');
  assertTensor(weight, 'conv2dHex', 'weight');
  if (bias !== null) assertTensor(bias, 'conv2dHex', 'bias');
  if (x.rank !== 4) throw new AutogradError(`conv2dHex: x must have shape (batch, channels, H, W), got ${formatShape(x.shape)}`);
  if (weight.rank !== 4 || weight.shape[2] !== weight.shape[3]) {
    throw new AutogradError(`conv2dHex: weight must have shape (out_channels, in_channels, k, k), got ${formatShape(weight.shape)}`);
  }
  const [n, ci, h, w] = x.shape as [number, number, number, number];
  const [co, wci, k] = weight.shape as [number, number, number];
  if (wci !== ci) throw new AutogradError(`conv2dHex: weight has ${wci} input channels but x has ${ci} (x ${formatShape(x.shape)}, weight ${formatShape(weight.shape)})`);
  if (k % 2 === 0) throw new AutogradError(`conv2dHex: ${k} is even. Must be odd.`);
  if (bias !== null && (bias.rank !== 1 || bias.shape[0] !== co)) {
    throw new AutogradError(`conv2dHex: bias must have shape [${co}], got ${formatShape(bias.shape)}`);
  }
  const dtypes = [x, weight, ...(bias ? [bias] : [])].map((t) => t.dtype);
  if (dtypes.some((d) => d !== x.dtype)) throw new AutogradError(`conv2dHex: mixed dtypes (${dtypes.join(', ')})`);
  const pad = options.padding ?? (k - 1) / 2;
  if (!Number.isSafeInteger(pad) || pad < 0) throw new AutogradError(`conv2dHex: padding must be a non-negative integer, got ${pad}`);
  const ho = h + 2 * pad - k + 1;
  const wo = w + 2 * pad - k + 1;
  if (ho < 1 || wo < 1) throw new AutogradError(`conv2dHex: a ${k}x${k} kernel with padding ${pad} does not fit a ${h}x${w} map`);
  const mask = options.mask === undefined ? (k > 1 ? hexKernelMask(k) : null) : options.mask;
  if (mask !== null && mask.length !== k * k) throw new AutogradError(`conv2dHex: mask must have ${k * k} entries (k x k), got ${mask.length}`);
  const allTaps = Int32Array.from({ length: k * k }, (_, i) => i);
  const taps = mask === null ? allTaps : allTaps.filter((i) => mask[i] !== 0);
  return conv2dHexOp(bias === null ? [x, weight] : [x, weight, bias], { n, ci, h, w, co, k, pad, ho, wo, taps, hasBias: bias !== null });
}
