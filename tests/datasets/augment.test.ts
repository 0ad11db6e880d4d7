// flyvis's augmentations as pure functions: the lattice permutations and vector matrices agree
// with flyvis's geometry (hex_to_pixel: x = 1.5 v, y = -sqrt(3) (u + v / 2)), rotations and
// flips compose to the identity, photometric and temporal transforms follow flyvis's formulas
// and torch's interpolation, and MultiTaskSintel's item pipeline crops, resamples and augments.
import { describe, expect, it } from 'vitest';
import {
  augmentItem,
  contrastBrightness,
  cropFrames,
  flipHorizontal,
  flipMatrix,
  flipVertical,
  FlowDatasetError,
  gammaCorrection,
  hexFlip,
  hexRotate,
  interpolateFrames,
  pixelNoise,
  rotationMatrix,
  sampleAugmentParams,
  sampleCropStart,
  hexSequence,
  type HexSequence,
} from '../../src/datasets/index.ts';
import { Xoshiro128 } from '../../src/init/random.ts';
import { hexLattice } from '../../src/stimuli/hex.ts';

const EXTENT = 3;
const lat = hexLattice(EXTENT);
const N = lat.length;
const pos = (i: number): [number, number] => [1.5 * lat.v[i]!, -Math.sqrt(3) * (lat.u[i]! + lat.v[i]! / 2)];
const index = (u: number, v: number): number => {
  for (let i = 0; i < N; i++) if (lat.u[i] === u && lat.v[i] === v) return i;
  throw new Error(`no hexal (${u}, ${v})`);
};

/** A (frames, 2, hexals) field f(hexal) repeated over frames. */
function field(f: (i: number) => [number, number], frames = 2): HexSequence {
  const d = new Float32Array(frames * 2 * N);
  for (let t = 0; t < frames; t++)
    for (let i = 0; i < N; i++) {
      const [x, y] = f(i);
      d[t * 2 * N + i] = x;
      d[t * 2 * N + N + i] = y;
    }
  return hexSequence(d, frames, 2, N);
}

const random = (dims: number, frames = 3, seed = 1): HexSequence => {
  const rng = new Xoshiro128(seed);
  return hexSequence(Float32Array.from({ length: frames * dims * N }, () => rng.nextUint32() / 2 ** 32), frames, dims, N);
};

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

describe('hexRotate and hexFlip (flyvis HexRotate, HexFlip)', () => {
  it("moves hexal (u, v)'s value to (-v, u + v) per 60 degrees", () => {
    const lum = random(1, 1);
    for (const n of [1, 2, 3, 4, 5]) {
      const r = hexRotate(lum, n);
      for (let i = 0; i < N; i++) {
        let [u, v] = [lat.u[i]!, lat.v[i]!];
        for (let k = 0; k < n; k++) [u, v] = [-v, u + v];
        expect(r.data[index(u, v)]).toBe(lum.data[i]);
      }
    }
  });

  it("uses flyvis's float32 rotation and flip matrices", () => {
    expect(Array.from(rotationMatrix(1))).toEqual([0.5, Math.fround(-0.8660254037844386), Math.fround(0.8660254037844386), 0.5]);
    expect(Array.from(rotationMatrix(3))).toEqual([-1, Math.fround(-Math.sin(Math.PI)), Math.fround(Math.sin(Math.PI)), -1]);
    const m1 = flipMatrix(1);
    expect([m1[0], m1[3]]).toEqual([-1, 1]);
    expect(Math.abs(m1[1]!)).toBeLessThan(1e-15);
  });

  it('rotates flow vectors with the image: rotation and expansion fields are invariant, uniform flow turns', () => {
    const rotField = field((i) => [-pos(i)[1], pos(i)[0]]);
    const expField = field(pos);
    for (const n of [1, 2, 3, 4, 5]) {
      expect(maxDiff(hexRotate(rotField, n).data, rotField.data)).toBeLessThan(1e-5);
      expect(maxDiff(hexRotate(expField, n).data, expField.data)).toBeLessThan(1e-5);
      const a = (n * Math.PI) / 3;
      const turned = hexRotate(field(() => [1, 0]), n);
      expect(maxDiff(turned.data, field(() => [Math.cos(a), Math.sin(a)]).data)).toBeLessThan(1e-6);
    }
  });

  it('mirrors flow vectors with the image: expansion fields are invariant, rotation fields change sign', () => {
    const rotField = field((i) => [-pos(i)[1], pos(i)[0]]);
    const negRot = field((i) => [pos(i)[1], -pos(i)[0]]);
    const expField = field(pos);
    for (const axis of [1, 2, 3]) {
      expect(maxDiff(hexFlip(expField, axis).data, expField.data)).toBeLessThan(1e-5);
      expect(maxDiff(hexFlip(rotField, axis).data, negRot.data)).toBeLessThan(1e-5);
    }
  });

  it('6 x 60 degrees and flipping twice are the identity; n = 0 (mod 6) and axis 0 change nothing', () => {
    for (const dims of [1, 2, 3]) {
      const s = random(dims);
      let r = s;
      for (let k = 0; k < 6; k++) r = hexRotate(r, 1);
      expect(maxDiff(r.data, s.data)).toBeLessThan(1e-6);
      expect(hexRotate(s, 6)).toBe(s);
      expect(hexRotate(s, -12)).toBe(s);
      expect(hexFlip(s, 0)).toBe(s);
      for (const axis of [1, 2, 3]) expect(maxDiff(hexFlip(hexFlip(s, axis), axis).data, s.data)).toBeLessThan(1e-6);
      if (dims === 1) {
        // luminance is only permuted: exact
        expect(Array.from(r.data)).toEqual(Array.from(s.data));
        expect(Array.from(hexRotate(hexRotate(s, 2), 4).data)).toEqual(Array.from(s.data));
      }
    }
  });

  it('flipHorizontal mirrors columns (v -> -v) and negates flow x; flipVertical negates flow y', () => {
    const s = random(2, 1);
    const h = flipHorizontal(s);
    const v = flipVertical(s);
    for (let i = 0; i < N; i++) {
      // horizontal: image row u + v/2 kept, column v negated
      const j = index(lat.u[i]! + lat.v[i]!, -lat.v[i]!);
      expect(h.data[j]).toBeCloseTo(-s.data[i]!, 6);
      expect(h.data[N + j]).toBeCloseTo(s.data[N + i]!, 6);
      // vertical: row u + v/2 negated, column v kept
      const k = index(-lat.u[i]! - lat.v[i]!, lat.v[i]!);
      expect(v.data[k]).toBeCloseTo(s.data[i]!, 6);
      expect(v.data[N + k]).toBeCloseTo(-s.data[N + i]!, 6);
    }
  });

  it('refuses bad axes and lattices that are not regular, naming what was expected', () => {
    expect(() => hexFlip(random(1), 4)).toThrow(FlowDatasetError);
    expect(() => hexRotate(hexSequence(new Float32Array(5), 1, 1, 5), 1)).toThrow(/regular lattice/);
    expect(() => hexRotate(random(4), 1)).toThrow(/at most 3 dims/);
  });
});

describe('photometric augmentations', () => {
  it("contrastBrightness is flyvis's max(0, c (x - 0.5) + 0.5 + c b); null contrast changes nothing", () => {
    const s = hexSequence(Float32Array.of(0, 0.25, 0.5, 1), 4, 1, 1);
    const r = contrastBrightness(s, 1.5, -0.1);
    expect(Array.from(r.data).map((x) => +x.toFixed(6))).toEqual([0, 0, 0.35, 1.1]);
    expect(contrastBrightness(s, null, 0.3)).toBe(s);
  });

  it('pixelNoise adds seeded N(0, std) noise clamped at 0', () => {
    const s = hexSequence(new Float32Array(20000).fill(0.5), 20000, 1, 1);
    const a = pixelNoise(s, 0.08, new Xoshiro128(7));
    const b = pixelNoise(s, 0.08, new Xoshiro128(7));
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    let m = 0;
    let v = 0;
    for (const x of a.data) m += x - 0.5;
    m /= a.data.length;
    for (const x of a.data) v += (x - 0.5 - m) ** 2;
    expect(Math.abs(m)).toBeLessThan(0.002);
    expect(Math.sqrt(v / a.data.length)).toBeCloseTo(0.08, 2);
    const dark = pixelNoise(hexSequence(new Float32Array(1000), 1000, 1, 1), 0.5, new Xoshiro128(1));
    expect(Math.min(...dark.data)).toBe(0);
    expect(pixelNoise(s, 0, new Xoshiro128(1))).toBe(s);
  });

  it('gammaCorrection raises to the power', () => {
    expect(Array.from(gammaCorrection(hexSequence(Float32Array.of(0.25, 0.5), 2, 1, 1), 2).data)).toEqual([0.0625, 0.25]);
  });
});

describe('temporal augmentations', () => {
  const ramp = (T: number): HexSequence => hexSequence(Float32Array.from({ length: T * N }, (_, k) => Math.floor(k / N)), T, 1, N);

  it("resamples 19 frames at 24/s to ceil(50/24 x 19) = 40 at dt 0.02: nearest-exact and linear as torch's", () => {
    const s = ramp(19);
    const near = interpolateFrames(s, 24, 1 / 0.02, 'nearest-exact');
    const lin = interpolateFrames(s, 24, 1 / 0.02, 'linear');
    expect(near.shape).toEqual([40, 1, N]);
    expect(lin.shape).toEqual([40, 1, N]);
    // torch nearest-exact: floor((m + 0.5) * 19 / 40); hand-computed for the first frames and the last
    const first = Array.from({ length: 40 }, (_, m) => near.data[m * N]);
    expect(first.slice(0, 8)).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
    expect(first[39]).toBe(18);
    // linear with align_corners: frame m at 18 m / 39, ends kept
    for (let m = 0; m < 40; m++) expect(lin.data[m * N + 5]).toBeCloseTo((18 * m) / 39, 5);
    // same rate: unchanged
    expect(Array.from(interpolateFrames(s, 24, 24, 'linear').data)).toEqual(Array.from(s.data));
  });

  it('cropFrames takes [start, start + n); crop starts are drawn from [0, total - n) as numpy randint', () => {
    const s = ramp(22);
    expect(Array.from(cropFrames(s, 19, 2).data.filter((_, k) => k % N === 0))).toEqual(Array.from({ length: 19 }, (_, k) => k + 2));
    expect(() => cropFrames(s, 23)).toThrow(/at least 23 frames/);
    const rng = new Xoshiro128(3);
    const starts = new Set(Array.from({ length: 200 }, () => sampleCropStart(rng, 19, 22)));
    expect([...starts].sort()).toEqual([0, 1, 2]);
    expect(sampleCropStart(rng, 19, 19)).toBe(0);
    expect(sampleCropStart(rng, 19, 20)).toBe(0);
  });
});

describe('augmentItem (MultiTaskSintel.apply_augmentation)', () => {
  const T = 22;
  const lum = hexSequence(Float32Array.from({ length: T * N }, (_, k) => (Math.floor(k / N) + (k % N) / N) / T), T, 1, N);
  const flow = hexSequence(Float32Array.from({ length: T * 2 * N }, (_, k) => Math.floor(k / (2 * N)) + ((k % (2 * N)) < N ? 0 : 100)), T, 2, N);

  it('without augmentation: the first 19 frames, luminance piecewise constant and flow linear at dt', () => {
    const o = { augment: false };
    const p = sampleAugmentParams(new Xoshiro128(1), T, o);
    expect(p).toEqual({ nRot: 0, flipAxis: 0, contrastFactor: null, brightnessFactor: 0, start: 0 });
    const it = augmentItem({ lum, flow }, p, new Xoshiro128(1), o);
    expect(it.lumShape).toEqual([40, 1, N]);
    expect(it.flowShape).toEqual([40, 2, N]);
    expect(Array.from(it.lum)).toEqual(Array.from(interpolateFrames(cropFrames(lum, 19), 24, 50, 'nearest-exact').data));
    expect(Array.from(it.flow)).toEqual(Array.from(interpolateFrames(cropFrames(flow, 19), 24, 50, 'linear').data));
    expect(it.flow[39 * 2 * N]).toBeCloseTo(18, 5);
    expect(it.flow[39 * 2 * N + N]).toBeCloseTo(118, 5);
  });

  it('with augmentation: the drawn crop, flip and rotation act on lum and flow alike, jitter and noise on lum only', () => {
    const o = { pRot: 1, pFlip: 1, contrastStd: 0.2, brightnessStd: 0.1, gaussianWhiteNoise: 0 };
    const rng = new Xoshiro128(11);
    const p = sampleAugmentParams(rng, T, o);
    expect(p.nRot).toBeGreaterThanOrEqual(1);
    expect(p.flipAxis).toBe(1);
    expect(p.start).toBeLessThan(3);
    const it = augmentItem({ lum, flow }, p, rng, o);
    const geo = (s: HexSequence): HexSequence => hexRotate(hexFlip(s, 1), p.nRot);
    const expLum = interpolateFrames(geo(contrastBrightness(cropFrames(lum, 19, p.start), p.contrastFactor, p.brightnessFactor)), 24, 50, 'nearest-exact');
    expect(Array.from(it.lum)).toEqual(Array.from(expLum.data));
    expect(Array.from(it.flow)).toEqual(Array.from(interpolateFrames(geo(cropFrames(flow, 19, p.start)), 24, 50, 'linear').data));
  });
});
