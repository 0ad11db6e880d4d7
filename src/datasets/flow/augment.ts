// flyvis's augmentations (flyvis/datasets/augmentation/hex.py, temporal.py, utils.py) as pure
// functions on sequences on the hexagonal lattice, usable on any dataset. A sequence is
// (frames, dims, hexals) float32, as flyvis's: dims 1 for luminance, 2 for flow (x rightward,
// y upward). Random choices take an explicit seeded generator (src/init/random.ts); nothing
// here keeps state. MultiTaskSintel's item pipeline over them is `augmentItem`.
import { extentOfHexals, hexLattice } from '../../stimuli/hex.ts';
import { checkInt, checkNumber, flowFail } from './errors.ts';
import { gaussian, normal, randint, uniform, type Xoshiro128 } from './random.ts';

/** (frames, dims, hexals), row-major float32. */
export interface HexSequence {
  readonly data: Float32Array;
  readonly shape: readonly [frames: number, dims: number, hexals: number];
}

/** A sequence over `data`, checking the length. */
export function hexSequence(data: Float32Array, frames: number, dims: number, hexals: number): HexSequence {
  if (data.length !== frames * dims * hexals) flowFail('sequence', `${frames * dims * hexals} values for shape (${frames}, ${dims}, ${hexals})`, data.length);
  return { data, shape: [frames, dims, hexals] };
}

const f32 = Math.fround;

function extentOf(seq: HexSequence): number {
  const e = extentOfHexals(seq.shape[2]);
  if (e === undefined) flowFail('sequence', 'a number of hexals 3e(e + 1) + 1 filling a regular lattice', seq.shape[2]);
  return e!;
}

// ----- permutations of the lattice (flyvis augmentation/utils.py) ---------------------------

const permCache = new Map<string, Int32Array>();

/**
 * flyvis's permutation index for a map of hex coordinates: `sort_u_then_v_index(u', v')`, i.e.
 * out[j] = in[perm[j]] where hexal perm[j] lands on hexal j. The value of hexal i thereby moves
 * to the hexal at the mapped coordinates of i.
 */
function permutation(extent: number, key: string, map: (u: number, v: number) => [number, number]): Int32Array {
  const id = `${extent}:${key}`;
  const hit = permCache.get(id);
  if (hit) return hit;
  const lat = hexLattice(extent);
  const index = new Map<number, number>();
  const code = (u: number, v: number): number => (u + 2 * extent + 1) * (4 * extent + 3) + (v + 2 * extent + 1);
  for (let i = 0; i < lat.length; i++) index.set(code(lat.u[i]!, lat.v[i]!), i);
  const perm = new Int32Array(lat.length);
  for (let i = 0; i < lat.length; i++) {
    const [u, v] = map(lat.u[i]!, lat.v[i]!);
    const j = index.get(code(u, v));
    if (j === undefined) throw new Error(`internal: hexal (${u}, ${v}) outside the lattice of extent ${extent}`);
    perm[j] = i;
  }
  permCache.set(id, perm);
  return perm;
}

/** flyvis `rotate_Nx60`: (u, v) -> (-v, u + v), n times (60 degrees counter-clockwise each). */
export function rotateHexCoords(u: number, v: number, n: number): [number, number] {
  for (let k = 0; k < ((n % 6) + 6) % 6; k++) [u, v] = [-v, u + v];
  return [u, v];
}

/** flyvis `flip_permutation_index` coordinate maps for axes 1, 2, 3. */
export function flipHexCoords(u: number, v: number, axis: 1 | 2 | 3): [number, number] {
  if (axis === 1) return [u + v, -v]; // across v = 0: left-right mirror of the image
  if (axis === 2) return [-u, u + v];
  return [-v, -u];
}

/** The rotation permutation of `extent` by n x 60 degrees (flyvis `rotation_permutation_index`). */
export const rotationPermutation = (extent: number, n: number): Int32Array => {
  const k = ((n % 6) + 6) % 6;
  return permutation(extent, `rot${k}`, (u, v) => rotateHexCoords(u, v, k));
};

/** The flip permutation of `extent` across axis 1, 2 or 3 (flyvis `flip_permutation_index`). */
export const flipPermutation = (extent: number, axis: 1 | 2 | 3): Int32Array => permutation(extent, `flip${axis}`, (u, v) => flipHexCoords(u, v, axis));

// flyvis's matrices are float32 tensors built from numpy float64 values.
/** flyvis `rotation_matrix(n * 60 * pi / 180)`, float32, row-major 2 x 2. */
export function rotationMatrix(n: number): Float64Array {
  const a = (n * 60 * Math.PI) / 180;
  return Float64Array.of(f32(Math.cos(a)), f32(-Math.sin(a)), f32(Math.sin(a)), f32(Math.cos(a)));
}

/** flyvis `flip_matrix(radians(angle))` for axis 1, 2, 3 (angles 90, 150, 210 degrees), float32. */
export function flipMatrix(axis: 1 | 2 | 3): Float64Array {
  const a = [90, 150, 210][axis - 1]! * (Math.PI / 180);
  return Float64Array.of(f32(Math.cos(2 * a)), f32(Math.sin(2 * a)), f32(Math.sin(2 * a)), f32(-Math.cos(2 * a)));
}

/** out[t, :, j] = M @ in[t, :, perm[j]] (M acts on the first two dims; a third dim is kept). */
function permuteAndMix(seq: HexSequence, perm: Int32Array, m: Float64Array): HexSequence {
  const [T, D, N] = seq.shape;
  if (D > 3) flowFail('sequence', 'at most 3 dims (flyvis rotates and flips 1-, 2- and 3-dim sequences)', D);
  const x = seq.data;
  const out = new Float32Array(x.length);
  for (let t = 0; t < T; t++) {
    const o = t * D * N;
    if (D === 1) {
      for (let j = 0; j < N; j++) out[o + j] = x[o + perm[j]!]!;
      continue;
    }
    for (let j = 0; j < N; j++) {
      const a = x[o + perm[j]!]!;
      const b = x[o + N + perm[j]!]!;
      out[o + j] = m[0]! * a + m[1]! * b;
      out[o + N + j] = m[2]! * a + m[3]! * b;
      if (D === 3) out[o + 2 * N + j] = x[o + 2 * N + perm[j]!]!;
    }
  }
  return { data: out, shape: seq.shape };
}

/**
 * flyvis HexRotate: rotates the sequence by n x 60 degrees counter-clockwise on the lattice
 * (hexal (u, v) goes to (-v, u + v) per step) and, for 2 or 3 dims, rotates the vectors by
 * flyvis's rotation matrix of n x 60 degrees. n = 0 (mod 6) returns the sequence unchanged.
 */
export function hexRotate(seq: HexSequence, n: number): HexSequence {
  checkInt('n_rot', n, -Number.MAX_SAFE_INTEGER);
  const k = ((n % 6) + 6) % 6;
  if (k === 0) return seq;
  return permuteAndMix(seq, rotationPermutation(extentOf(seq), k), rotationMatrix(k));
}

/**
 * flyvis HexFlip: mirrors the sequence across hex axis 1, 2 or 3 (0: unchanged), flipping the
 * vectors with flyvis's flip matrix. Axis 1 is the left-right mirror of the image (x -> -x):
 * flow x changes sign, y is kept.
 */
export function hexFlip(seq: HexSequence, axis: number): HexSequence {
  checkInt('flip axis', axis, 0, 3);
  if (axis === 0) return seq;
  const a = axis as 1 | 2 | 3;
  return permuteAndMix(seq, flipPermutation(extentOf(seq), a), flipMatrix(a));
}

/** Left-right mirror (flyvis's flip axis 1): flow x changes sign. */
export const flipHorizontal = (seq: HexSequence): HexSequence => hexFlip(seq, 1);

/** Up-down mirror (flip axis 1, then 180 degrees): flow y changes sign. */
export const flipVertical = (seq: HexSequence): HexSequence => hexRotate(hexFlip(seq, 1), 3);

// ----- photometric (flyvis augmentation/hex.py) ---------------------------------------------

/**
 * flyvis ContrastBrightness: max(0, c (x - 0.5) + 0.5 + c b), in float32 as torch computes it.
 * `contrastFactor` null (flyvis's None, when contrast_std is 0) leaves the sequence unchanged.
 */
export function contrastBrightness(seq: HexSequence, contrastFactor: number | null, brightnessFactor: number): HexSequence {
  if (contrastFactor === null) return seq;
  const c = f32(contrastFactor);
  const cb = f32(contrastFactor * brightnessFactor);
  const out = new Float32Array(seq.data.length);
  for (let i = 0; i < out.length; i++) {
    const y = f32(f32(f32(c * f32(seq.data[i]! - 0.5)) + 0.5) + cb);
    out[i] = y > 0 ? y : 0;
  }
  return { data: out, shape: seq.shape };
}

/** flyvis PixelNoise: max(0, x + N(0, std)) per element; std 0 leaves the sequence unchanged. */
export function pixelNoise(seq: HexSequence, std: number, rng: Xoshiro128): HexSequence {
  checkNumber('gaussian_white_noise', std, 0);
  if (!std) return seq;
  const s = f32(std);
  const out = new Float32Array(seq.data.length);
  for (let i = 0; i < out.length; i++) {
    const y = f32(seq.data[i]! + f32(f32(gaussian(rng)) * s));
    out[i] = y > 0 ? y : 0;
  }
  return { data: out, shape: seq.shape };
}

/** flyvis GammaCorrection: x ** gamma (gamma 0 leaves the sequence unchanged, as flyvis). */
export function gammaCorrection(seq: HexSequence, gamma: number): HexSequence {
  checkNumber('gamma', gamma, 0);
  if (!gamma) return seq;
  const out = new Float32Array(seq.data.length);
  for (let i = 0; i < out.length; i++) out[i] = seq.data[i]! ** gamma;
  return { data: out, shape: seq.shape };
}

// ----- temporal (flyvis augmentation/temporal.py) -------------------------------------------

/** Frames after resampling `frames` from `originalFramerate` to `targetFramerate`: ceil(target / original * frames). */
export const resampledFrames = (frames: number, originalFramerate: number, targetFramerate: number): number => Math.ceil((targetFramerate / originalFramerate) * frames);

/**
 * flyvis Interpolate: resamples the frames from `originalFramerate` to `targetFramerate`
 * (ceil(target / original * frames) frames), as torch's `interpolate` along time: 'linear'
 * with align_corners (flow targets) or 'nearest-exact' (piecewise constant; luminance).
 * Values are not rescaled.
 */
export function interpolateFrames(seq: HexSequence, originalFramerate: number, targetFramerate: number, mode: 'linear' | 'nearest-exact'): HexSequence {
  checkNumber('original framerate', originalFramerate, 0, Infinity, true);
  checkNumber('target framerate', targetFramerate, 0, Infinity, true);
  const [T, D, N] = seq.shape;
  const M = resampledFrames(T, originalFramerate, targetFramerate);
  const row = D * N;
  const out = new Float32Array(M * row);
  const x = seq.data;
  if (mode === 'nearest-exact') {
    // torch: src = min(floorf((dst + 0.5) * scale), T - 1), scale = float(T / M).
    const scale = f32(T / M);
    for (let m = 0; m < M; m++) {
      const src = Math.min(Math.floor(f32((m + 0.5) * scale)), T - 1);
      out.set(x.subarray(src * row, (src + 1) * row), m * row);
    }
  } else if (mode === 'linear') {
    // torch (align_corners): real = float((T - 1) / (M - 1)) * dst, i0 = floor, lambda = real - i0.
    const scale = M > 1 ? f32((T - 1) / (M - 1)) : 0;
    for (let m = 0; m < M; m++) {
      const real = f32(scale * m);
      const i0 = Math.floor(real);
      const i1 = i0 < T - 1 ? i0 + 1 : i0;
      const l1 = Math.min(Math.max(f32(real - i0), 0), 1);
      const l0 = f32(1 - l1);
      for (let k = 0; k < row; k++) out[m * row + k] = f32(l0 * x[i0 * row + k]!) + f32(l1 * x[i1 * row + k]!);
    }
  } else flowFail('interpolation mode', "'linear' or 'nearest-exact'", mode);
  return { data: out, shape: [M, D, N] };
}

/** flyvis CropFrames: frames [start, start + nFrames); fails when fewer frames are given. */
export function cropFrames(seq: HexSequence, nFrames: number, start = 0): HexSequence {
  const [T, D, N] = seq.shape;
  checkInt('n_frames', nFrames, 1);
  if (nFrames > T) flowFail('temporal crop', `at least ${nFrames} frames to crop ${nFrames}`, T);
  checkInt('crop start', start, 0, T - nFrames);
  return { data: seq.data.slice(start * D * N, (start + nFrames) * D * N), shape: [nFrames, D, N] };
}

// ----- samplers (flyvis's set_or_sample, from an explicit generator) ------------------------

/** HexRotate.set_or_sample: with probability pRot a rotation 1..5, else 0. */
export const sampleRotation = (rng: Xoshiro128, pRot: number): number => (pRot && pRot > uniform(rng) ? randint(rng, 1, 6) : 0);

/** HexFlip.set_or_sample: with probability pFlip an axis in 1..max(flipAxes), else 0. */
export const sampleFlipAxis = (rng: Xoshiro128, pFlip: number, flipAxes: readonly number[] = [0, 1]): number =>
  pFlip && pFlip > uniform(rng) ? randint(rng, 1, Math.max(...flipAxes) + 1) : 0;

/** ContrastBrightness.set_or_sample: contrast exp(N(0, contrastStd)) (null when 0), brightness N(0, brightnessStd) (0 when 0). */
export function sampleContrastBrightness(rng: Xoshiro128, contrastStd: number, brightnessStd: number): { contrastFactor: number | null; brightnessFactor: number } {
  const contrastFactor = contrastStd ? Math.exp(normal(rng, 0, contrastStd)) : null;
  const brightnessFactor = brightnessStd ? normal(rng, 0, brightnessStd) : 0;
  return { contrastFactor, brightnessFactor };
}

/** GammaCorrection.set_or_sample: max(0, N(1, std)), or 1 without std. */
export const sampleGamma = (rng: Xoshiro128, std: number | null): number => (std ? Math.max(0, normal(rng, 1, std)) : 1);

/**
 * CropFrames.set_or_sample: a start in [0, total - nFrames) (numpy randint's exclusive high:
 * the last possible start is never drawn), or 0 when total equals nFrames.
 */
export function sampleCropStart(rng: Xoshiro128, nFrames: number, total: number): number {
  if (nFrames > total) flowFail('temporal crop', `at least ${nFrames} frames to crop ${nFrames}`, total);
  return randint(rng, 0, total - nFrames || 1);
}

// ----- MultiTaskSintel's item pipeline --------------------------------------------------------

/** MultiTaskSintel's augmentation and resampling settings (flyvis's defaults). */
export interface AugmentOptions {
  /** Turns rotation, flips, contrast/brightness, noise and the random crop on (default true). */
  augment?: boolean;
  /** Frames cropped from each sequence at the original framerate (default 19). */
  nFrames?: number;
  /** Keep all frames instead of cropping (default false). */
  allFrames?: boolean;
  /** Random crop start when augmenting, else 0 (default true). */
  randomTemporalCrop?: boolean;
  /** Piecewise-constant resampling of the luminance to 1 / dt (default true). */
  resampling?: boolean;
  /** Linear interpolation of the targets to 1 / dt, else piecewise constant (default true). */
  interpolate?: boolean;
  /** Integration time step (default 1/50). */
  dt?: number;
  /** Frame rate of the sequences (Sintel's: 24). */
  originalFramerate?: number;
  pFlip?: number;
  pRot?: number;
  contrastStd?: number;
  brightnessStd?: number;
  gaussianWhiteNoise?: number;
  /** Sampled as flyvis does but, as in flyvis's MultiTaskSintel, not applied. */
  gammaStd?: number | null;
  flipAxes?: readonly number[];
}

export type ResolvedAugmentOptions = Required<AugmentOptions>;

/** flyvis MultiTaskSintel's defaults. */
export const SINTEL_AUGMENT_DEFAULTS: ResolvedAugmentOptions = Object.freeze({
  augment: true,
  nFrames: 19,
  allFrames: false,
  randomTemporalCrop: true,
  resampling: true,
  interpolate: true,
  dt: 1 / 50,
  originalFramerate: 24,
  pFlip: 0.5,
  pRot: 5 / 6,
  contrastStd: 0.2,
  brightnessStd: 0.1,
  gaussianWhiteNoise: 0.08,
  gammaStd: null,
  flipAxes: Object.freeze([0, 1]) as readonly number[],
});

/**
 * flyvis's training configuration (flyvis/config/task/task.yaml, with which its published
 * networks were trained): MultiTaskSintel's defaults but p_rot 0.5 and flips across all three
 * hex axes (flip_axes [0, 1, 2, 3]).
 */
export const FLYVIS_TASK_AUGMENT: ResolvedAugmentOptions = Object.freeze({
  ...SINTEL_AUGMENT_DEFAULTS,
  pRot: 0.5,
  flipAxes: Object.freeze([0, 1, 2, 3]) as readonly number[],
});

export function resolveAugmentOptions(o: AugmentOptions = {}, defaults: ResolvedAugmentOptions = SINTEL_AUGMENT_DEFAULTS): ResolvedAugmentOptions {
  const r = { ...defaults };
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (r as Record<string, unknown>)[k] = v;
  for (const k of ['augment', 'allFrames', 'randomTemporalCrop', 'resampling', 'interpolate'] as const)
    if (typeof r[k] !== 'boolean') flowFail(k, 'true or false', r[k]);
  checkInt('nFrames', r.nFrames, 1);
  checkNumber('dt', r.dt, 0, Infinity, true);
  checkNumber('originalFramerate', r.originalFramerate, 0, Infinity, true);
  checkNumber('pFlip', r.pFlip, 0, 1);
  checkNumber('pRot', r.pRot, 0, 1);
  checkNumber('contrastStd', r.contrastStd, 0);
  checkNumber('brightnessStd', r.brightnessStd, 0);
  checkNumber('gaussianWhiteNoise', r.gaussianWhiteNoise, 0);
  if (r.gammaStd !== null) checkNumber('gammaStd', r.gammaStd, 0);
  if (!Array.isArray(r.flipAxes) || r.flipAxes.length === 0 || r.flipAxes.some((a) => ![0, 1, 2, 3].includes(a)))
    flowFail('flipAxes', 'a non-empty list of axes among 0, 1, 2, 3', r.flipAxes);
  return r;
}

/** One item's augmentation parameters (flyvis's set_augmentation_params). */
export interface AugmentParams {
  /** 60-degree rotations, 0..5. */
  readonly nRot: number;
  /** Flip axis, 0 (none) .. 3. */
  readonly flipAxis: number;
  readonly contrastFactor: number | null;
  readonly brightnessFactor: number;
  /** First frame of the temporal crop. */
  readonly start: number;
}

/**
 * Draws one item's parameters as flyvis's set_augmentation_params does (rotation, flip,
 * contrast and brightness, gamma, crop start, in that order); parameters of augmentations that
 * are off are returned neutral (no rotation or flip, no jitter, crop from 0).
 */
export function sampleAugmentParams(rng: Xoshiro128, totalFrames: number, options: AugmentOptions = {}): AugmentParams {
  const o = resolveAugmentOptions(options);
  const nRot = sampleRotation(rng, o.pRot);
  const flipAxis = sampleFlipAxis(rng, o.pFlip, o.flipAxes);
  const { contrastFactor, brightnessFactor } = sampleContrastBrightness(rng, o.contrastStd, o.brightnessStd);
  sampleGamma(rng, o.gammaStd);
  const start = o.allFrames ? 0 : sampleCropStart(rng, o.nFrames, totalFrames);
  if (!o.augment) return { nRot: 0, flipAxis: 0, contrastFactor: null, brightnessFactor: 0, start: 0 };
  return { nRot, flipAxis, contrastFactor, brightnessFactor, start: o.randomTemporalCrop ? start : 0 };
}

/** An item of a flow dataset: luminance and flow on the lattice, at the time step dt. */
export interface FlowItem {
  /** (frames, 1, hexals). */
  readonly lum: Float32Array;
  /** (flowFrames, 2, hexals): x rightward, y upward, in flyvis's Sintel units. */
  readonly flow: Float32Array;
  /** Frames of lum (flow has as many unless resampling and interpolate differ). */
  readonly frames: number;
  readonly hexals: number;
  readonly lumShape: readonly [number, 1, number];
  readonly flowShape: readonly [number, 2, number];
}

export function flowItem(lum: HexSequence, flow: HexSequence): FlowItem {
  if (lum.shape[1] !== 1 || flow.shape[1] !== 2 || lum.shape[2] !== flow.shape[2])
    flowFail('flow item', 'lum (frames, 1, hexals) and flow (frames, 2, hexals)', `lum (${lum.shape.join(', ')}), flow (${flow.shape.join(', ')})`);
  return { lum: lum.data, flow: flow.data, frames: lum.shape[0], hexals: lum.shape[2], lumShape: [lum.shape[0], 1, lum.shape[2]], flowShape: [flow.shape[0], 2, flow.shape[2]] };
}

/**
 * flyvis MultiTaskSintel.apply_augmentation on one sequence pair at the original framerate:
 *   lum  = resample(rotate(flip(jitter(noise(crop(lum))))))     (piecewise constant, nearest-exact)
 *   flow = interpolate(rotate(flip(crop(flow))))                 (linear; piecewise constant without `interpolate`)
 * `params` from sampleAugmentParams; `noiseRng` draws the pixel noise (when augmenting).
 */
export function augmentItem(raw: { lum: HexSequence; flow: HexSequence }, params: AugmentParams, noiseRng: Xoshiro128, options: AugmentOptions = {}): FlowItem {
  const o = resolveAugmentOptions(options);
  const crop = (s: HexSequence): HexSequence => (o.allFrames ? s : cropFrames(s, o.nFrames, params.start));
  const target = 1 / o.dt;
  let lum = crop(raw.lum);
  if (o.augment) lum = contrastBrightness(pixelNoise(lum, o.gaussianWhiteNoise, noiseRng), params.contrastFactor, params.brightnessFactor);
  lum = hexRotate(hexFlip(lum, o.augment ? params.flipAxis : 0), o.augment ? params.nRot : 0);
  if (o.resampling) lum = interpolateFrames(lum, o.originalFramerate, target, 'nearest-exact');
  let flow = hexRotate(hexFlip(crop(raw.flow), o.augment ? params.flipAxis : 0), o.augment ? params.nRot : 0);
  if (o.interpolate) flow = interpolateFrames(flow, o.originalFramerate, target, 'linear');
  else if (o.resampling) flow = interpolateFrames(flow, o.originalFramerate, target, 'nearest-exact');
  return flowItem(lum, flow);
}
