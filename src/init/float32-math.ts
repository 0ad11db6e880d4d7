// Float32 arithmetic as flyvis's Python stack does it, where the result depends on how:
//
// - `npLogFloat32`: numpy's `np.log` of a float32 array, which is not correctly rounded (within
//   3.83 ulp; on flyvis's synapse counts it differs from the correctly rounded log by one ulp
//   for about one mean in six). flyvis's `SynapseCount` takes it of the float32 group means.
// - `kahanMeanFloat32`: pandas' `groupby().mean()` of a float32 column (`group_mean` in
//   pandas/_libs/groupby.pyx), a Kahan-compensated sum in float32. flyvis's `SynapseCount` and
//   `SynapseCountScaling` average the edges' n_syn with it.
//
// Every float32 operation is Math.fround of the double operation (exact for + - * / of float32
// operands); fused multiply-adds are the correctly rounded `fma32` of torch-random.ts.
import { fma32 } from './torch-random.ts';

const f32 = Math.fround;

const bitsF32 = new Float32Array(1);
const bitsU32 = new Uint32Array(bitsF32.buffer);

const floatFromBits = (b: number): number => {
  bitsU32[0] = b >>> 0;
  return bitsF32[0]!;
};

// numpy's constants (npy_simd_data.h, npy_math.h), as the C compiler rounds their decimal
// literals to float32 (written as bit patterns so no decimal rounding is involved here).
const LOG_P = [0x3cd42bcd, 0x3ec30333, 0x3fbd70a9, 0x4007361c, 0x3f800000, 0x00000000].map(floatFromBits); // P5 .. P0
const LOG_Q = [0x3bc083df, 0x3e1e5bf3, 0x3f7c8ae4, 0x401cfe0d, 0x4027361c, 0x3f800000].map(floatFromBits); // Q5 .. Q0
const LOGE2 = floatFromBits(0x3f317218); // NPY_LOGE2f = 0.693147182...
const SQRT1_2 = floatFromBits(0x3f3504f3); // NPY_SQRT1_2f = 0.707106769...
const TWO_POW_100 = floatFromBits(0x71800000);
const FLT_MIN = floatFromBits(0x00800000);

/**
 * numpy's float32 natural logarithm, bit for bit: `np.log(x)` for a float32 array on an x86
 * CPU with AVX2 and FMA3 or with AVX512F (`simd_log_FLOAT` in numpy/core/src/umath's
 * loops_exponent_log.dispatch.c.src, earlier simd.inc.src: the same from numpy 1.17 to 2.x, and
 * the AVX2 and AVX512F versions compute the same). numpy on other CPUs calls the C library's
 * `logf` instead. `x` is rounded to float32 first.
 *
 * x = m 2^e with m in [0.5, 1); when m <= 1/sqrt(2), m = 2m and e = e - 1; then with r = m - 1,
 * log(x) = P(r) / Q(r) + e ln 2, P and Q degree-5 polynomials evaluated by Horner's rule in
 * fused multiply-adds, the division rounded to float32, and e ln 2 added in one more fma.
 * Negative x and NaN give NaN, 0 gives -Infinity, +Infinity gives +Infinity.
 */
export function npLogFloat32(xIn: number): number {
  let x = f32(xIn);
  if (Number.isNaN(x) || x < 0) return NaN;
  if (x === 0) return -Infinity;
  if (x === Infinity) return Infinity;
  let e = 0;
  if (x < FLT_MIN) {
    // Subnormal: scaled by 2^100 (exact), the exponent corrected after (fma_get_exponent).
    x = f32(x * TWO_POW_100);
    e = -100;
  }
  bitsF32[0] = x;
  const bits = bitsU32[0]!;
  e += (bits >>> 23) - 126; // x >= 0 here, so the sign bit is clear
  let m = floatFromBits((bits & 0x7fffff) | (126 << 23)); // [0.5, 1)
  if (m <= SQRT1_2) {
    m = m + m; // exact
    e -= 1;
  }
  const r = f32(m - 1); // exact (Sterbenz)
  let num = fma32(LOG_P[0]!, r, LOG_P[1]!);
  let den = fma32(LOG_Q[0]!, r, LOG_Q[1]!);
  for (let k = 2; k < 6; k++) {
    num = fma32(num, r, LOG_P[k]!);
    den = fma32(den, r, LOG_Q[k]!);
  }
  return fma32(e, LOGE2, f32(num / den));
}

/** `npLogFloat32` of every value (numpy's `np.log` of a float32 array). */
export function npLogFloat32Array(values: ArrayLike<number>): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = npLogFloat32(values[i]!);
  return out;
}

/**
 * pandas' `groupby(...).mean()` of a float32 column, bit for bit (`group_mean` in
 * pandas/_libs/groupby.pyx, pandas 1.3 to 2.x): for every row in table order, `values[i]`
 * (rounded to float32) is added to the sum of its group `groups[i]` with Kahan compensation in
 * float32 (y = v - c; t = s + y; c = (t - s) - y; s = t); each group's mean is then its sum
 * divided by its number of values, in float32. NaN values are skipped (a group with none is
 * NaN); a compensation that becomes NaN (an infinite value) is reset to 0, as pandas >= 2.0 does.
 * Rows with a negative group are ignored, as pandas' NA group.
 */
export function kahanMeanFloat32(groups: ArrayLike<number>, values: ArrayLike<number>, nGroups: number): Float32Array {
  if (groups.length !== values.length) throw new RangeError(`kahanMeanFloat32: ${groups.length} groups for ${values.length} values`);
  const sum = new Float32Array(nGroups);
  const comp = new Float32Array(nGroups);
  const nobs = new Float64Array(nGroups);
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i]!;
    if (g < 0) continue;
    if (g >= nGroups) throw new RangeError(`kahanMeanFloat32: group ${g} of row ${i} is not below ${nGroups}`);
    const v = f32(values[i]!);
    if (Number.isNaN(v)) continue;
    nobs[g]!++;
    const s = sum[g]!;
    const y = f32(v - comp[g]!);
    const t = f32(s + y);
    const c = f32(f32(t - s) - y);
    comp[g] = Number.isNaN(c) ? 0 : c;
    sum[g] = t;
  }
  const out = new Float32Array(nGroups);
  for (let g = 0; g < nGroups; g++) out[g] = nobs[g] === 0 ? NaN : f32(sum[g]! / f32(nobs[g]!));
  return out;
}
