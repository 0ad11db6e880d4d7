// The procedural optic-flow dataset: ground-truth flow checked analytically (translation,
// rotation, expansion, occlusion) in flyvis's Sintel units (pixels per frame / 436 summed over
// each hexal's 13 x 13 box, y up); the rendering of a mirrored or half-turned scene equals
// flyvis's flip or rotation of the rendering; items deterministic from the seed, splits disjoint.
import { describe, expect, it } from 'vitest';
import {
  flipHorizontal,
  flipVertical,
  FlowDatasetError,
  hexRotate,
  pinkNoiseTexture,
  ProceduralFlow,
  renderScene,
  sampleScene,
  sceneFrameSize,
  SINTEL_HEIGHT,
  type LayerMotion,
  type LayerShape,
  type Scene,
  type SceneLayer,
} from '../../src/datasets/index.ts';
import { Xoshiro128 } from '../../src/init/random.ts';
import { BoxEye } from '../../src/stimuli/box-eye.ts';

const texture = pinkNoiseTexture(new Xoshiro128(5), 64, 1);
const layer = (motion: Partial<LayerMotion>, shape: LayerShape | null = null, mean = 0.5): SceneLayer => ({
  texture,
  texScale: 2,
  texAngle: 0.3,
  texOffsetX: 3,
  texOffsetY: 7,
  mean,
  contrast: 0.2,
  shape,
  motion: { cx: 0, cy: 0, vx: 0, vy: 0, omega: 0, sigma: 0, ...motion },
});
const K2 = 13 * 13; // pixels per hexal box

/** Hexal centres in image pixels from the frame centre (x right, y down), as the BoxEye places them. */
function centres(extent: number): { x: Float64Array; y: Float64Array } {
  const eye = new BoxEye(extent, 13);
  return { x: Float64Array.from(eye.centerX), y: Float64Array.from(eye.centerY) };
}

/** Expected hexal flow for a per-pixel displacement field linear in the pixel position. */
function expectFlow(flow: Float32Array, frames: number, extent: number, disp: (x: number, y: number) => [number, number], only?: (h: number) => boolean): number {
  const { x, y } = centres(extent);
  const N = x.length;
  let checked = 0;
  for (let t = 0; t < frames; t++)
    for (let h = 0; h < N; h++) {
      if (only && !only(h)) continue;
      const [dx, dy] = disp(x[h]!, y[h]!);
      expect(flow[t * 2 * N + h]).toBeCloseTo((K2 * dx) / SINTEL_HEIGHT, 4);
      expect(flow[t * 2 * N + N + h]).toBeCloseTo((-K2 * dy) / SINTEL_HEIGHT, 4);
      checked++;
    }
  return checked;
}

describe('renderScene: exact ground-truth flow in Sintel units', () => {
  it('a pure translation gives the same flow in every hexal: 169 v / 436, y up', () => {
    const scene: Scene = { layers: [layer({ vx: 3.2, vy: -1.5 })] };
    const r = renderScene(scene, { frames: 3 });
    expect(r.flow.shape).toEqual([3, 2, 721]);
    expect(r.lum.shape).toEqual([3, 1, 721]);
    expect(r.flow.data[0]).toBeCloseTo((169 * 3.2) / 436, 5); // 1.2404 rightward
    expect(r.flow.data[721]).toBeCloseTo((169 * 1.5) / 436, 5); // 0.5814 upward (vy < 0 is up)
    expect(expectFlow(r.flow.data, 3, 15, () => [3.2, -1.5])).toBe(3 * 721);
  });

  it('a translation behind a static occluder: uniform flow outside the occluder, none inside', () => {
    const disc: LayerShape = { cx: 20, cy: -10, radius: 60, aspect: 1, angle: 0, harmonics: [] };
    const scene: Scene = { layers: [layer({ vx: 4, vy: 2 }), layer({}, disc, 0.3)] };
    const r = renderScene(scene, { frames: 2 });
    const { x, y } = centres(15);
    const dist = (h: number): number => Math.hypot(x[h]! - 20, y[h]! + 10);
    const margin = 6 * Math.SQRT2 + 0.5; // half-diagonal of a 13 x 13 box (pixel centres)
    expect(expectFlow(r.flow.data, 2, 15, () => [4, 2], (h) => dist(h) > 60 + margin)).toBeGreaterThan(1200);
    expect(expectFlow(r.flow.data, 2, 15, () => [0, 0], (h) => dist(h) < 60 - margin)).toBeGreaterThan(40);
    // the occluder's luminance does not change; boxes on its rim mix both layers' flows
    const N = 721;
    for (let h = 0; h < N; h++) if (dist(h) < 60 - margin) expect(r.lum.data[N + h]).toBe(r.lum.data[h]);
    const rim = Array.from({ length: N }, (_, h) => h).filter((h) => Math.abs(dist(h) - 60) < 2);
    expect(rim.length).toBeGreaterThan(0);
    for (const h of rim) {
      const fx = r.flow.data[h]!;
      expect(fx).toBeGreaterThan(0.05);
      expect(fx).toBeLessThan((K2 * 4) / 436 - 0.05);
    }
  });

  it('a rotation gives flow along circles about its centre: each pixel moves by (R(w) - I)(p - c)', () => {
    const c = [20, -10] as const;
    const w = 0.05;
    const scene: Scene = { layers: [layer({ cx: c[0], cy: c[1], omega: w })] };
    const r = renderScene(scene, { frames: 2, extent: 6 });
    const disp = (x: number, y: number): [number, number] => {
      const [dx, dy] = [x - c[0], y - c[1]];
      return [(Math.cos(w) - 1) * dx - Math.sin(w) * dy, Math.sin(w) * dx + (Math.cos(w) - 1) * dy];
    };
    expect(expectFlow(r.flow.data, 2, 6, disp)).toBe(2 * 127);
    // tangent: the summed displacement is a chord of the circle through the box centre
    const { x, y } = centres(6);
    for (let h = 0; h < 127; h++) {
      const px = (r.flow.data[h]! * 436) / K2;
      const py = (-r.flow.data[127 + h]! * 436) / K2;
      const rad = Math.hypot(x[h]! - c[0], y[h]! - c[1]);
      expect(Math.hypot(x[h]! - c[0] + px, y[h]! - c[1] + py)).toBeCloseTo(rad, 2);
    }
  });

  it('an expansion gives radial flow (exp(s) - 1)(p - c)', () => {
    const c = [-15, 30] as const;
    const s = 0.04;
    const scene: Scene = { layers: [layer({ cx: c[0], cy: c[1], sigma: s })] };
    const r = renderScene(scene, { frames: 2, extent: 6 });
    expect(expectFlow(r.flow.data, 2, 6, (x, y) => [(Math.exp(s) - 1) * (x - c[0]), (Math.exp(s) - 1) * (y - c[1])])).toBe(2 * 127);
  });

  it('combined motions: the flow of frame t is the displacement from time t - 1 to t of the points seen at t - 1', () => {
    const m = { cx: 5, cy: 8, vx: 2, vy: -3, omega: 0.02, sigma: -0.01 };
    const r = renderScene({ layers: [layer(m)] }, { frames: 3, extent: 4 });
    const E = (a: number, b: number): [number, number] => [Math.exp(m.sigma) * (Math.cos(m.omega) * a - Math.sin(m.omega) * b), Math.exp(m.sigma) * (Math.sin(m.omega) * a + Math.cos(m.omega) * b)];
    const { x, y } = centres(4);
    const N = x.length;
    for (let t = 0; t < 3; t++)
      for (let h = 0; h < N; h++) {
        // seen at time t (frame t's flow): q - c - v t, then one step on
        const [a, b] = [x[h]! - m.cx - m.vx * t, y[h]! - m.cy - m.vy * t];
        const [ea, eb] = E(a, b);
        expect(r.flow.data[t * 2 * N + h]).toBeCloseTo((K2 * (m.vx + ea - a)) / 436, 4);
        expect(r.flow.data[t * 2 * N + N + h]).toBeCloseTo((-K2 * (m.vy + eb - b)) / 436, 4);
      }
  });

  it("the rendering of the mirrored or half-turned scene is flyvis's flip or 180-degree rotation of the rendering", () => {
    const scene = sampleScene(new Xoshiro128(21), sceneFrameSize(5), { textureSize: 64 });
    expect(scene.layers.length).toBeGreaterThanOrEqual(2);
    const o = { frames: 3, extent: 5 };
    const base = renderScene(scene, o);
    const cases = [
      { view: [-1, 0, 0, -1] as const, aug: (s: typeof base.lum) => hexRotate(s, 3) },
      { view: [-1, 0, 0, 1] as const, aug: flipHorizontal },
      { view: [1, 0, 0, -1] as const, aug: flipVertical },
    ];
    for (const { view, aug } of cases) {
      const seen = renderScene(scene, { ...o, view });
      const lumDiff = Math.max(...seen.lum.data.map((v, i) => Math.abs(v - aug(base.lum).data[i]!)));
      const flowDiff = Math.max(...seen.flow.data.map((v, i) => Math.abs(v - aug(base.flow).data[i]!)));
      expect(lumDiff).toBeLessThan(1e-6);
      expect(flowDiff).toBeLessThan(1e-5);
      // and they are not trivially equal to the unaugmented rendering
      expect(Math.max(...seen.flow.data.map((v, i) => Math.abs(v - base.flow.data[i]!)))).toBeGreaterThan(0.1);
    }
  });

  it('refuses scenes without a background, naming the layer', () => {
    const disc: LayerShape = { cx: 0, cy: 0, radius: 10, aspect: 1, angle: 0, harmonics: [] };
    expect(() => renderScene({ layers: [layer({}, disc)] }, { frames: 1, extent: 2 })).toThrow(/scene.layers\[0\]: expected a background layer/);
    expect(() => renderScene({ layers: [] }, { frames: 1, extent: 2 })).toThrow(FlowDatasetError);
  });
});

describe('ProceduralFlow', () => {
  const small = { extent: 4, nSequences: 3, scene: { textureSize: 64 } };

  it("items are flyvis MultiTaskSintel-shaped: 19 frames at 24/s resampled to 40 at dt 0.02", () => {
    const ds = new ProceduralFlow({ split: 'validation', nSequences: 1 });
    expect(ds.length).toBe(1);
    const it = ds.item(0);
    expect(it.lumShape).toEqual([40, 1, 721]);
    expect(it.flowShape).toEqual([40, 2, 721]);
    expect(it.lum.every((v) => v >= 0 && v <= 1)).toBe(true);
    expect(it.flow.every(Number.isFinite)).toBe(true);
    expect(Math.max(...it.flow.map(Math.abs))).toBeGreaterThan(0.1);
  });

  it('is deterministic from the seed; another seed gives other scenes', () => {
    const a = new ProceduralFlow({ ...small, seed: 3, split: 'train' });
    const b = new ProceduralFlow({ ...small, seed: 3, split: 'train', cache: false });
    const c = new ProceduralFlow({ ...small, seed: 4, split: 'train' });
    for (let i = 0; i < 3; i++) {
      const [x, y, z] = [a.item(i), b.item(i), c.item(i)];
      expect(Array.from(x.lum)).toEqual(Array.from(y.lum));
      expect(Array.from(x.flow)).toEqual(Array.from(y.flow));
      expect(Array.from(x.lum)).not.toEqual(Array.from(z.lum));
      expect(Array.from(a.item(i).lum)).toEqual(Array.from(x.lum)); // same on every call
    }
    // a given generator redraws the augmentation (train split augments by default)
    expect(Array.from(a.item(0, new Xoshiro128(1)).lum)).not.toEqual(Array.from(a.item(0, new Xoshiro128(2)).lum));
    expect(Array.from(a.item(0, new Xoshiro128(1)).lum)).toEqual(Array.from(a.item(0, new Xoshiro128(1)).lum));
  });

  it('train and validation splits are disjoint streams; validation is not augmented by default', () => {
    const train = new ProceduralFlow({ ...small, nSequences: 4, split: 'train' });
    const val = new ProceduralFlow({ ...small, nSequences: 4, split: 'validation' });
    expect(train.augmentOptions.augment).toBe(true);
    expect(val.augmentOptions.augment).toBe(false);
    // flyvis's training settings (config/task/task.yaml): p_rot 0.5, flips across axes 1-3
    expect([train.augmentOptions.pRot, train.augmentOptions.flipAxes, train.augmentOptions.gaussianWhiteNoise]).toEqual([0.5, [0, 1, 2, 3], 0.08]);
    expect(new ProceduralFlow({ ...small, pRot: 0 }).augmentOptions.pRot).toBe(0);
    const key = (d: ProceduralFlow, i: number): string => Array.from(d.raw(i).lum.data.subarray(0, 64)).join(',');
    const seen = new Set(Array.from({ length: 4 }, (_, i) => key(train, i)));
    for (let i = 0; i < 4; i++) expect(seen.has(key(val, i))).toBe(false);
    expect(seen.size).toBe(4);
    // without augmentation an item is the rendering resampled to dt
    const raw = val.raw(1);
    const it = val.item(1);
    const N = val.hexals;
    expect(Array.from(it.lum.subarray(0, N))).toEqual(Array.from(raw.lum.data.subarray(0, N)));
    expect(Array.from(it.flow.subarray(39 * 2 * N, 40 * 2 * N))).toEqual(Array.from(raw.flow.data.subarray(18 * 2 * N, 19 * 2 * N)));
  });

  it('refuses bad options and indices, naming them', () => {
    expect(() => new ProceduralFlow({ split: 'test' as 'train' })).toThrow(/split: expected 'train' or 'validation'/);
    expect(() => new ProceduralFlow({ nSequences: -1 })).toThrow(FlowDatasetError);
    expect(() => new ProceduralFlow({ scene: { speed: [4, 2] } })).toThrow(/speed\[1\]/);
    expect(() => new ProceduralFlow({ ...small }).item(3)).toThrow(/item index: expected an integer in \[0, 2\]/);
  });
});
