// Rendering onto the receptor lattice: box-filter eye, pixel-per-hexagon eye, and the timing
// of flyvis's datasets (flashes, moving edges, impulses, gratings, user movies).
import { describe, expect, it } from 'vitest';
import { BoxEye } from '../../src/stimuli/box-eye.ts';
import { HexEye, LED_DEG, OMMATIDIUM_DEG } from '../../src/stimuli/hex-eye.ts';
import { hexLattice, discIndices, hexalIndex } from '../../src/stimuli/hex.ts';
import { CentralImpulses, Flashes, Gratings, MovingEdge, SpatialImpulses, UserMovies } from '../../src/stimuli/datasets.ts';
import { pad, resampleIndices } from '../../src/stimuli/movie.ts';
import { StimulusParamError } from '../../src/stimuli/errors.ts';

describe('BoxEye', () => {
  it('places receptors on flyvis grid and turns a uniform image into a uniform input', () => {
    const eye = new BoxEye(4, 13);
    expect(eye.hexals).toBe(61);
    const [h, w] = eye.minFrameSize;
    expect([h, w]).toEqual([13 * 8 + 1, 13 * 8 + 1]);
    const H = h + 26;
    const W = w + 30;
    const img = new Float32Array(2 * 3 * H * W).fill(0.37);
    const out = eye.render({ data: img, shape: [2, 3, H, W] });
    expect(out.shape).toEqual([2, 3, 1, 61]);
    for (const x of out.data) expect(x).toBeCloseTo(0.37, 6);
  });

  it('averages the pixel box around each centre (a bright pixel reaches one receptor)', () => {
    const eye = new BoxEye(2, 5);
    const H = 41;
    const W = 41;
    const img = new Float32Array(H * W);
    img[Math.floor(H / 2) * W + Math.floor(W / 2)] = 25;
    const out = eye.render({ data: img, shape: [H, W] });
    const centre = hexalIndex(eye.lattice, 0, 0);
    out.data.forEach((x, i) => expect(x).toBeCloseTo(i === centre ? 1 : 0, 6));
  });

  it('resizes frames smaller than the grid, and rejects bad shapes', () => {
    const eye = new BoxEye(3, 4);
    const out = eye.render({ data: new Float32Array(10 * 10).fill(0.8), shape: [10, 10] });
    for (const x of out.data) expect(x).toBeGreaterThan(0.3); // zero padding only at the rim
    expect(out.data[hexalIndex(eye.lattice, 0, 0)]).toBeCloseTo(0.8, 5);
    expect(() => eye.render({ data: new Float32Array(5), shape: [5] })).toThrow(/images: expected shape/);
    expect(() => eye.render({ data: new Float32Array(5), shape: [2, 3] })).toThrow(/6 values/);
  });
});

describe('HexEye', () => {
  const eye = new HexEye(4);

  it('renders a uniform field as a uniform input and every hexal owns pixels', () => {
    const f = eye.renderBar({ widthDeg: 10, heightDeg: 10, locHorizontalDeg: 90, intensity: 0.5, bgIntensity: 0.5, angle: 37 });
    for (const x of f) expect(x).toBe(0.5);
    for (let h = 0; h < eye.hexals; h++) expect(eye.kernelSum(h)).toBeGreaterThan(400);
    const img = new Float32Array(eye.monitorPx ** 2).fill(0.25);
    for (const x of eye.renderImage(img)) expect(x).toBeCloseTo(0.25, 6);
  });

  it('renders a bar at the centre column and rotates it with the direction', () => {
    const L = eye.lattice;
    const bar = eye.renderBar({ widthDeg: 2 * LED_DEG, heightDeg: 9 * LED_DEG, locHorizontalDeg: 90, intensity: 1, bgIntensity: 0, angle: 0 });
    expect(bar[hexalIndex(L, 0, 0)]).toBeGreaterThan(0.5);
    expect(bar[hexalIndex(L, 0, 2)]).toBe(0);
    expect(bar[hexalIndex(L, 1, 0)]).toBeGreaterThan(0.5);
    // rotated by 90°, the bar is horizontal: it covers the row u + v / 2 = 0 through the centre
    const rot = eye.renderBar({ widthDeg: 2 * LED_DEG, heightDeg: 20 * LED_DEG, locHorizontalDeg: 90, intensity: 1, bgIntensity: 0, angle: 90 });
    expect(rot[hexalIndex(L, 0, 0)]).toBeGreaterThan(0.5);
    expect(rot[hexalIndex(L, -1, 2)]).toBeGreaterThan(0.5);
    expect(rot[hexalIndex(L, 1, 0)]).toBe(0);
  });

  it('locates hexals by direction: +v is rightward (0°), -u is up (90°)', () => {
    expect(HexEye.directionOf(0, 1)).toBeCloseTo(333.43, 1);
    expect(HexEye.directionOf(-1, 0)).toBeCloseTo(90, 6);
    expect(HexEye.directionOf(1, -2)).toBeCloseTo(180, 6);
  });
});

/** Edge position along a line of hexals (in columns): how many are past half contrast. */
function edgePosition(frame: Float32Array, idx: readonly number[]): number {
  return idx.reduce((s, i) => s + (frame[i]! - 0.5) / 0.5, 0);
}

describe('moving edges', () => {
  it('have flyvis parameters, durations and the moving-edge timing', () => {
    const ds = new MovingEdge({ extent: 4 });
    expect(ds.length).toBe(12 * 2 * 6);
    expect(ds.params[0]).toEqual({ angle: 0, width: 80, intensity: 0, t_stim: (21 * LED_DEG) / (2.4 * OMMATIDIUM_DEG), speed: 2.4 });
    const dt = 1 / 200;
    ds.dt = dt;
    const s = ds.params.findIndex((p) => p.speed === 9.7 && p.intensity === 1 && p.angle === 0);
    const m = ds.get(s);
    const tStim = (21 * LED_DEG) / (9.7 * OMMATIDIUM_DEG);
    expect(m.shape).toEqual([Math.trunc((tStim + 2) / dt), 61]);
    expect(ds.frameCount(s)).toBe(m.shape[0]);
    // the 1 s before onset is grey
    for (let k = 0; k < 200 * 61; k++) expect(m.data[k]).toBe(0.5);
  });

  it.each([
    [0, 0, 1],
    [180, 0, -1],
    [90, -1, 0],
  ])('at %i° moves by speed x dt columns per frame along (du, dv) = (%i, %i)', (angle, du, dv) => {
    const speed = 4.8;
    const dt = 1 / 200;
    const extent = 6;
    const ds = new MovingEdge({ extent, angles: [angle], intensities: [1], speeds: [speed], dt });
    const L = hexLattice(extent);
    const line = Array.from({ length: 2 * extent + 1 }, (_, k) => hexalIndex(L, du * (k - extent), dv * (k - extent)));
    const m = ds.get(0);
    const H = L.length;
    const onset = 200;
    const nStim = Math.trunc(ds.params[0]!.t_stim! / dt);
    const pos = (k: number) => edgePosition(m.data.subarray(k * H, (k + 1) * H), line);
    // slope over the stimulus: columns per second
    const travelled = pos(onset + nStim - 1) - pos(onset);
    const seconds = (nStim - 1) * dt;
    const expected = (20 * LED_DEG) / OMMATIDIUM_DEG; // 20 LED steps, 7.76 columns
    expect(travelled).toBeGreaterThan(expected - 1);
    expect(travelled).toBeLessThan(expected + 1);
    expect(travelled / seconds).toBeGreaterThan(speed * 0.85);
    expect(travelled / seconds).toBeLessThan(speed * 1.15);
    // never moves backwards
    for (let k = onset + 1; k < onset + nStim; k++) expect(pos(k)).toBeGreaterThanOrEqual(pos(k - 1) - 1e-6);
    // post: 'continue' keeps the last frame
    expect(pos(m.shape[0] - 1)).toBeCloseTo(pos(onset + nStim - 1), 6);
  });
});

describe('flashes', () => {
  it('have 1 s grey, 1 s flash, 1 s grey at dt 1/200, ON to 1 and OFF to 0, full field and radius 6', () => {
    const ds = new Flashes({ extent: 8 });
    expect(ds.params).toEqual([
      { baseline: 0.5, intensity: 0, radius: -1 },
      { baseline: 0.5, intensity: 0, radius: 6 },
      { baseline: 0.5, intensity: 1, radius: -1 },
      { baseline: 0.5, intensity: 1, radius: 6 },
    ]);
    const L = hexLattice(8);
    const disc = new Set(discIndices(L, 6));
    expect(disc.size).toBe(3 * 6 * 7 + 1);
    ds.params.forEach((p, i) => {
      const m = ds.get(i);
      expect(m.shape).toEqual([600, L.length]);
      let wrong = 0;
      for (let k = 0; k < 600; k++)
        for (let h = 0; h < L.length; h++) {
          const inFlash = k >= 200 && k < 400 && (p.radius === -1 || disc.has(h));
          if (m.data[k * L.length + h] !== (inFlash ? p.intensity : 0.5)) wrong++;
        }
      expect(wrong).toBe(0);
    });
    ds.dt = 1 / 50;
    expect(ds.get(0).shape[0]).toBe(150);
  });

  it('reject bad parameters, naming the field', () => {
    expect(() => new Flashes({ radius: [2.5] })).toThrow(StimulusParamError);
    expect(() => new Flashes({ radius: [2.5] })).toThrow(/radius\[0\]/);
    expect(() => new Flashes({ alternations: [1, 0] })).toThrow(/alternations/);
    expect(() => new Flashes({ tStim: 0 })).toThrow(/t_stim/);
  });
});

describe('impulses, gratings and user movies', () => {
  it('flash one column for t_impulse after t_pre of background', () => {
    const ds = new CentralImpulses({ extent: 2, dt: 1 / 200 });
    expect(ds.length).toBe(2 * 6);
    const s = ds.params.findIndex((p) => p.intensity === 1 && p.t_impulse === 20e-3);
    const m = ds.get(s);
    expect(m.shape).toEqual([1400, 19]);
    const c = hexalIndex(hexLattice(2), 0, 0);
    let wrong = 0;
    for (let k = 0; k < 1400; k++) for (let h = 0; h < 19; h++) if (m.data[k * 19 + h] !== (h === c && k >= 400 && k < 404 ? 1 : 0.5)) wrong++;
    expect(wrong).toBe(0);
    const spatial = new SpatialImpulses({ extent: 5 });
    expect(spatial.length).toBe(61 * 2 * 2);
  });

  it('drift gratings at the temporal frequency', () => {
    const ds = new Gratings({ extent: 3, angles: [0], periods: [23.2], temporalFrequencies: [2], dt: 1 / 100, tPre: 0.5, tStim: 1 });
    const m = ds.get(0);
    const H = 37;
    expect(m.shape).toEqual([150, H]);
    const frame = (k: number) => Array.from(m.data.subarray(k * H, (k + 1) * H));
    expect(frame(60)).toEqual(frame(110)); // one period = 50 frames at 2 Hz
    expect(frame(60)).not.toEqual(frame(85)); // half a period later: shifted
    const mean = frame(60).reduce((a, b) => a + b, 0) / H;
    expect(mean).toBeGreaterThan(0.25);
    expect(mean).toBeLessThan(0.75);
  });

  it('take users movies as they are or resampled to dt', () => {
    const data = Float32Array.from({ length: 2 * 4 * 7 }, (_, i) => i);
    const ds = new UserMovies({ data, shape: [2, 4, 1, 7] }, { frameDt: 1 / 50 });
    ds.dt = 1 / 100;
    expect(ds.get(1).shape).toEqual([8, 7]);
    expect(Array.from(ds.get(1).data.subarray(0, 7))).toEqual(Array.from(data.subarray(28, 35)));
    expect(() => new UserMovies({ data, shape: [2, 4, 2, 7] })).toThrow(/movie: expected shape/);
  });
});

describe("flyvis's temporal helpers", () => {
  it('resample picks floor(linspace(0, n - 1, int(t / dt)))', () => {
    expect(Array.from(resampleIndices(3, 0.05, 0.01))).toEqual([0, 0, 1, 1, 2]);
    expect(Array.from(resampleIndices(21, 0.1, 0.01))).toEqual([0, 2, 4, 6, 8, 11, 13, 15, 17, 20]);
  });

  it('pad fills at the start or end, or continues the last frame', () => {
    const x = { data: Float32Array.of(1, 2, 3, 4), shape: [2, 2] as [number, number] };
    expect(Array.from(pad(x, 0.04, 0.01, { at: 'start', fill: 9 }).data)).toEqual([9, 9, 9, 9, 1, 2, 3, 4]);
    expect(Array.from(pad(x, 0.03, 0.01, { mode: 'continue' }).data)).toEqual([1, 2, 3, 4, 3, 4]);
    expect(pad(x, 0.01, 0.01)).toBe(x);
  });
});
