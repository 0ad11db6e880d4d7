// PyTorch's CPU generator, bit for bit: what flyvis's `Normal` initial distribution draws from.
//
//   g = torch.Generator(); g.manual_seed(seed); torch.normal(mean, std, generator=g)
//
// on float32 tensors, as PyTorch 1.13 computes it on an x86 CPU with AVX2 (the build flyvis's
// reference data was made with). Sources mirrored (ATen): core/MT19937RNGEngine.h (engine),
// core/DistributionsHelper.h and core/TransformationHelper.h (uniforms, double normals),
// native/cpu/DistributionTemplates.h (normal_fill_AVX2, normal_fill_16_AVX2),
// native/cpu/avx_mathfun.h (log256_ps, sincos256_ps) and native/DistributionTemplates.h
// (normal_out_impl: normal_(0, 1), then mul_(std), add_(mean)).
//
// Every float32 operation is written as Math.fround of the double operation, which is exact
// for + - * / sqrt of float32 operands (a double holds more than 2 * 24 + 2 bits). The fused
// multiply-adds that GCC emits for the polynomial steps of avx_mathfun.h (it contracts
// a * b + c under -mfma) are reproduced by `fma32`, a correctly rounded float32 fma computed
// from doubles; without them about 1 value in 170 is one ulp off.

const f32 = Math.fround;

// Bit views of one float32, for the exponent manipulation of log256 and for fma32's neighbours.
const bitsF32 = new Float32Array(1);
const bitsU32 = new Uint32Array(bitsF32.buffer);

function floatBits(x: number): number {
  bitsF32[0] = x;
  return bitsU32[0]!;
}

function bitsFloat(b: number): number {
  bitsU32[0] = b >>> 0;
  return bitsF32[0]!;
}

/** The float32 next to the float32 `r`, towards +infinity (`up`) or -infinity. */
function nextFloat32(r: number, up: boolean): number {
  if (r === 0) return bitsFloat(up ? 0x00000001 : 0x80000001);
  return bitsFloat(floatBits(r) + ((r > 0) === up ? 1 : -1));
}

/** Correctly rounded float32 fma(a, b, c) of float32 operands, using double arithmetic only. */
export function fma32(a: number, b: number, c: number): number {
  const p = a * b; // exact: 24 + 24 bits < 53
  const s = p + c;
  const bb = s - p;
  const err = p - (s - bb) + (c - bb); // TwoSum: p + c == s + err exactly
  const r = f32(s);
  if (err !== 0 && r !== s) {
    // s can only round the wrong way when it is exactly halfway between two float32s
    // (a halfway point is a double, so rounding to double never crosses one): err breaks the tie.
    const other = nextFloat32(r, s > r);
    if (s - r === other - s) return err > 0 === other > r ? other : r;
  }
  return r;
}

// ------------------------------------------------------------------ MT19937 (at::mt19937)

const MT_N = 624;
const MT_M = 397;

/**
 * torch's CPU generator (`CPUGeneratorImpl`) after `manual_seed(seed)`: the MT19937 engine and
 * the cached second sample of the double-precision Box-Muller transform.
 */
export class TorchGenerator {
  private readonly state = new Uint32Array(MT_N);
  private next = MT_N;
  private nextDoubleNormal: number | null = null;

  /**
   * `seed`: any safe integer, as `manual_seed` takes it: a negative seed is its 64-bit two's
   * complement, and the engine keeps the low 32 bits (`seed & 0xffffffff`).
   */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed: expected an integer, got ${seed}`);
    const s = this.state;
    s[0] = ((seed % 2 ** 32) + 2 ** 32) % 2 ** 32;
    for (let j = 1; j < MT_N; j++) {
      const prev = s[j - 1]!;
      s[j] = Math.imul(1812433253, prev ^ (prev >>> 30)) + j;
    }
  }

  private twist(): void {
    const s = this.state;
    for (let k = 0; k < MT_N; k++) {
      const y = (s[k]! & 0x80000000) | (s[(k + 1) % MT_N]! & 0x7fffffff);
      s[k] = s[(k + MT_M) % MT_N]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    }
    this.next = 0;
  }

  /** Next tempered 32-bit output, in [0, 2^32) (`CPUGeneratorImpl::random`). */
  random(): number {
    if (this.next >= MT_N) this.twist();
    let y = this.state[this.next++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** `uniform_real_distribution<float>(0, 1)`: the low 24 bits of one output, times 2^-24. */
  uniformFloat(): number {
    return (this.random() & 0xffffff) * 2 ** -24;
  }

  /** `uniform_real_distribution<double>(0, 1)`: the low 53 bits of `random64()` (first output high), times 2^-53. */
  uniformDouble(): number {
    const hi = this.random();
    const lo = this.random();
    return ((hi & 0x1fffff) * 2 ** 32 + lo) * 2 ** -53;
  }

  /**
   * `normal_distribution<double>(0, 1)`: Box-Muller in double precision, returning
   * r cos(theta) and caching r sin(theta) for the next call.
   */
  normalDouble(): number {
    if (this.nextDoubleNormal !== null) {
      const z = this.nextDoubleNormal;
      this.nextDoubleNormal = null;
      return z;
    }
    const u1 = this.uniformDouble();
    const u2 = this.uniformDouble();
    const r = Math.sqrt(-2 * Math.log(1 - u2));
    const theta = 2 * Math.PI * u1;
    this.nextDoubleNormal = r * Math.sin(theta);
    return r * Math.cos(theta);
  }
}

// ------------------------------------------------------------------ avx_mathfun.h, one lane

const MIN_NORM_POS = bitsFloat(0x00800000);
const HALF_BITS = floatBits(0.5);
const SQRTHF = f32(0.707106781186547524);
const LOG_P = [
  7.0376836292e-2, -1.151461031e-1, 1.167699874e-1, -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1,
  -2.4999993993e-1, 3.3333331174e-1,
].map(f32);
const LOG_Q1 = f32(-2.12194440e-4);
const LOG_Q2 = f32(0.693359375);
const DP1 = f32(-0.78515625);
const DP2 = f32(-2.4187564849853515625e-4);
const DP3 = f32(-3.77489497744594108e-8);
const SIN_P0 = f32(-1.9515295891e-4);
const SIN_P1 = f32(8.3321608736e-3);
const SIN_P2 = f32(-1.6666654611e-1);
const COS_P0 = f32(2.443315711809948e-5);
const COS_P1 = f32(-1.388731625493765e-3);
const COS_P2 = f32(4.166664568298827e-2);
const FOPI = f32(1.27323954473516); // 4 / pi

/** `log256_ps` for one positive float32 lane (Cephes logf), with GCC's fused multiply-adds. */
export function log256(xIn: number): number {
  let x = Math.max(xIn, MIN_NORM_POS);
  const b = floatBits(x);
  let e = f32((b >>> 23) - 0x7f + 1);
  x = bitsFloat((b & ~0x7f800000) | HALF_BITS); // mantissa, in [0.5, 1)
  if (x < SQRTHF) {
    e = f32(e - 1);
    x = f32(f32(x - 1) + x);
  } else {
    x = f32(x - 1);
  }
  const z = f32(x * x);
  let y = LOG_P[0]!;
  for (let k = 1; k < LOG_P.length; k++) y = fma32(y, x, LOG_P[k]!);
  y = f32(y * x);
  y = fma32(y, z, f32(e * LOG_Q1)); // (y * z) + (e * q1), contracted
  y = f32(y - f32(z * 0.5));
  x = f32(x + y);
  return fma32(e, LOG_Q2, x);
}

/** `sincos256_ps` for one float32 lane (Cephes sinf/cosf): [sin, cos], with GCC's fused multiply-adds. */
export function sincos256(xIn: number): [sin: number, cos: number] {
  let signSin = xIn < 0 || Object.is(xIn, -0); // the sign bit
  let x = Math.abs(xIn);
  let j = Math.trunc(f32(x * FOPI)); // cvttps2dq
  j = (j + 1) & ~1;
  const y = j;
  const swapSin = (j & 4) !== 0;
  const sinPolyIsY2 = (j & 2) === 0;
  x = fma32(y, DP1, x);
  x = fma32(y, DP2, x);
  x = fma32(y, DP3, x);
  const signCos = (~(j - 2) & 4) !== 0;
  signSin = signSin !== swapSin;
  const z = f32(x * x);
  let yc = fma32(COS_P0, z, COS_P1);
  yc = fma32(yc, z, COS_P2);
  yc = f32(yc * z);
  yc = fma32(yc, z, -f32(z * 0.5)); // (yc * z) - (z * 0.5), contracted
  yc = f32(yc + 1);
  let ys = fma32(SIN_P0, z, SIN_P1);
  ys = fma32(ys, z, SIN_P2);
  ys = f32(ys * z);
  ys = fma32(ys, x, x);
  const s = sinPolyIsY2 ? ys : yc;
  const c = sinPolyIsY2 ? yc : ys;
  return [signSin ? -s : s, signCos ? -c : c];
}

const TWO_PI_F32 = f32(2 * Math.PI);

/** `normal_fill_16_AVX2` with mean 0, std 1: 16 uniforms at `j0` become 8 Box-Muller pairs (j, j + 8). */
function normalFill16(d: Float32Array, j0: number): void {
  for (let j = j0; j < j0 + 8; j++) {
    const u1 = f32(1 - d[j]!);
    const u2 = d[j + 8]!;
    const radius = f32(Math.sqrt(f32(-2 * log256(u1))));
    const theta = f32(TWO_PI_F32 * u2);
    const [sin, cos] = sincos256(theta);
    d[j] = f32(radius * cos);
    d[j + 8] = f32(radius * sin);
  }
}

/**
 * `tensor.normal_(0, 1, generator)` for a contiguous float32 tensor of `n` elements: below 16
 * elements, one double-precision normal per element (rounded to float32); from 16 on, `n`
 * float uniforms, transformed in blocks of 16, and when `n` is not a multiple of 16 the last 16
 * elements redrawn from 16 fresh uniforms and transformed again.
 */
export function torchStandardNormal(gen: TorchGenerator, n: number): Float32Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`n: expected a non-negative integer, got ${n}`);
  const d = new Float32Array(n);
  if (n < 16) {
    for (let i = 0; i < n; i++) d[i] = gen.normalDouble();
    return d;
  }
  for (let i = 0; i < n; i++) d[i] = gen.uniformFloat();
  for (let i = 0; i < n - 15; i += 16) normalFill16(d, i);
  if (n % 16 !== 0) {
    for (let k = n - 16; k < n; k++) d[k] = gen.uniformFloat();
    normalFill16(d, n - 16);
  }
  return d;
}

/**
 * `torch.normal(mean, std, generator=g)` with `g = torch.Generator(); g.manual_seed(seed)`, for
 * float32 tensors of one value per element (`mean` and `std` are rounded to float32 first, as
 * `torch.tensor(x).float()`): standard normals, times std, plus mean, in float32.
 */
export function torchNormal(mean: ArrayLike<number>, std: ArrayLike<number>, seed: number): Float32Array {
  if (mean.length !== std.length) throw new RangeError(`mean and std: expected the same length, got ${mean.length} and ${std.length}`);
  const z = torchStandardNormal(new TorchGenerator(seed), mean.length);
  for (let i = 0; i < z.length; i++) z[i] = f32(f32(z[i]! * f32(std[i]!)) + f32(mean[i]!));
  return z;
}
