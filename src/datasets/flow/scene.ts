// Procedural optic-flow scenes: layers of textured planes (a background that fills the view,
// foreground surfaces with irregular silhouettes that occlude what lies behind them), each
// moving rigidly in the image plane with a translation, a rotation and an expansion. A scene
// is rendered pixel by pixel at Sintel's frame rate and pixel scale, then through flyvis's
// BoxEye: luminance averaged and flow summed over each hexal's kernel x kernel pixel box,
// exactly as flyvis renders Sintel's frames and .flo targets. The per-pixel flow is the exact
// displacement of the surface point seen at that pixel between two frames (analytic for rigid
// motions), in Sintel's units divided by Sintel's image height (436), y pointing up.
import { BoxEye } from '../../stimuli/box-eye.ts';
import { hexSequence, type HexSequence } from './augment.ts';
import { checkInt, checkNumber, flowFail } from './errors.ts';
import { logUniform, randint, uniformIn, type Xoshiro128 } from './random.ts';
import { pinkNoiseTexture, sampleTexture, type Texture } from './texture.ts';

/** Sintel's image height in pixels: flyvis divides Sintel's pixel flow by it (sample_flow). */
export const SINTEL_HEIGHT = 436;

/**
 * Rigid motion of a layer in the image plane, in pixels from the frame centre (x rightward, y
 * downward, as image columns and rows) and Sintel frames (1/24 s) as the time unit. A layer
 * point at x (its position at time 0) is at time t at
 *   c + v t + exp(sigma t) R(omega t) (x - c),
 * R(a) = [[cos a, -sin a], [sin a, cos a]] (positive omega turns +x towards +y: clockwise on screen).
 */
export interface LayerMotion {
  /** Centre of rotation and expansion at time 0. */
  readonly cx: number;
  readonly cy: number;
  /** Translation, pixels per Sintel frame. */
  readonly vx: number;
  readonly vy: number;
  /** Rotation, radians per Sintel frame. */
  readonly omega: number;
  /** Expansion, log-scale per Sintel frame (positive: the layer grows). */
  readonly sigma: number;
}

/** A silhouette: an ellipse (radius along its own y, `aspect` times that along its x) with a wavy rim. */
export interface LayerShape {
  /** Centre (layer coordinates: the position at time 0, pixels from the frame centre). */
  readonly cx: number;
  readonly cy: number;
  readonly radius: number;
  readonly aspect: number;
  /** Orientation of the ellipse, radians. */
  readonly angle: number;
  /** Rim r(phi) = 1 + sum amplitude cos(k phi + phase), with sum |amplitude| < 1. */
  readonly harmonics: readonly { readonly k: number; readonly amplitude: number; readonly phase: number }[];
}

export interface SceneLayer {
  readonly texture: Texture;
  /** Pixels per texel. */
  readonly texScale: number;
  /** Texture orientation (radians) and offset (texels). */
  readonly texAngle: number;
  readonly texOffsetX: number;
  readonly texOffsetY: number;
  /** Luminance = clamp(mean + contrast * texture, 0, 1). */
  readonly mean: number;
  readonly contrast: number;
  /** null: the layer fills the whole plane (a background). */
  readonly shape: LayerShape | null;
  readonly motion: LayerMotion;
}

/** Layers from back to front; a pixel shows the front-most layer that covers it. */
export interface Scene {
  readonly layers: readonly SceneLayer[];
}

export interface SceneRenderOptions {
  /** Frames rendered (default 19): luminance at times 1..frames, flow from t - 1 to t. */
  readonly frames?: number;
  readonly extent?: number;
  readonly kernelSize?: number;
  /**
   * A view transform G (row-major 2 x 2 in image coordinates x right, y down): the pixel at p
   * shows the scene at G p and its flow is G^-1 applied to the scene's flow there, i.e. the
   * scene as seen after transforming it by G^-1 (default: identity).
   */
  readonly view?: readonly [number, number, number, number];
}

/**
 * The rendered frame (height, width) for a lattice: the smallest that holds every hexal's
 * kernel x kernel box, so the frame centre (floor(h / 2), floor(w / 2)) is the BoxEye's.
 */
export function sceneFrameSize(extent = 15, kernelSize = 13): [number, number] {
  const eye = new BoxEye(extent, kernelSize);
  return [eye.minFrameSize[0] + kernelSize - 1, eye.minFrameSize[1] + kernelSize - 1];
}

/** Per layer and time: pixel -> shape, texture and flow coordinates, each affine in (x, y). */
interface LayerMaps {
  shape: Float64Array | null; // [a, b, c, d, e, f]: sx = a x + b y + c, sy = d x + e y + f
  tex: Float64Array;
  flow: Float64Array;
  layer: SceneLayer;
  // the rim's harmonics (k, amp cos phase, amp sin phase) and bounds
  hk: Int32Array;
  hc: Float64Array;
  hs: Float64Array;
  rimMin2: number;
  rimMax2: number;
}

/** Affine maps a (x) = A x + b as [A00, A01, b0, A10, A11, b1]. */
const affine = (A: readonly number[], b: readonly number[]): Float64Array => Float64Array.of(A[0]!, A[1]!, b[0]!, A[2]!, A[3]!, b[1]!);
const mul2 = (A: readonly number[], B: readonly number[]): number[] => [A[0]! * B[0]! + A[1]! * B[2]!, A[0]! * B[1]! + A[1]! * B[3]!, A[2]! * B[0]! + A[3]! * B[2]!, A[2]! * B[1]! + A[3]! * B[3]!];
const app2 = (A: readonly number[], x: readonly number[]): number[] => [A[0]! * x[0]! + A[1]! * x[1]!, A[2]! * x[0]! + A[3]! * x[1]!];
const rot = (a: number): number[] => [Math.cos(a), -Math.sin(a), Math.sin(a), Math.cos(a)];

function layerMaps(layer: SceneLayer, t: number, G: readonly number[], Ginv: readonly number[]): LayerMaps {
  const m = layer.motion;
  // Scene point q = G p; layer point x = c + exp(-sigma t) R(-omega t) (q - c - v t) = Minv q + m0.
  const Minv = rot(-m.omega * t).map((z) => z * Math.exp(-m.sigma * t));
  const c = [m.cx, m.cy];
  const shifted = app2(Minv, [m.cx + m.vx * t, m.cy + m.vy * t]);
  const m0 = [c[0]! - shifted[0]!, c[1]! - shifted[1]!];
  const X = mul2(Minv, G); // x = X p + m0
  let shape: Float64Array | null = null;
  const hk: number[] = [];
  const hc: number[] = [];
  const hs: number[] = [];
  let rimMin2 = 0;
  let rimMax2 = 0;
  if (layer.shape) {
    const s = layer.shape;
    // shape coords: D R(-angle) (x - centre), D = diag(1 / (radius aspect), 1 / radius)
    const D = [1 / (s.radius * s.aspect), 0, 0, 1 / s.radius];
    const S = mul2(D, rot(-s.angle));
    const SX = mul2(S, X);
    const s0 = app2(S, [m0[0]! - s.cx, m0[1]! - s.cy]);
    shape = affine(SX, s0);
    let amp = 0;
    for (const h of s.harmonics) {
      hk.push(h.k);
      hc.push(h.amplitude * Math.cos(h.phase));
      hs.push(h.amplitude * Math.sin(h.phase));
      amp += Math.abs(h.amplitude);
    }
    rimMin2 = Math.max(0, 1 - amp) ** 2;
    rimMax2 = (1 + amp) ** 2;
  }
  // texel = R(texAngle) x / texScale + offset
  const K = rot(layer.texAngle).map((z) => z / layer.texScale);
  const KX = mul2(K, X);
  const k0 = app2(K, m0);
  const tex = affine(KX, [k0[0]! + layer.texOffsetX, k0[1]! + layer.texOffsetY]);
  // Scene flow over one frame at q: v + (exp(sigma) R(omega) - I)(q - c - v t); seen: G^-1 of it at q = G p.
  const E = rot(m.omega).map((z) => z * Math.exp(m.sigma));
  const A = [E[0]! - 1, E[1]!, E[2]!, E[3]! - 1];
  const AG = mul2(Ginv, mul2(A, G));
  const a0 = app2(A, [-(m.cx + m.vx * t), -(m.cy + m.vy * t)]);
  const f0 = app2(Ginv, [a0[0]! + m.vx, a0[1]! + m.vy]);
  const flow = affine(AG, f0);
  return { shape, tex, flow, layer, hk: Int32Array.from(hk), hc: Float64Array.from(hc), hs: Float64Array.from(hs), rimMin2, rimMax2 };
}

function insideShape(L: LayerMaps, x: number, y: number): boolean {
  const s = L.shape!;
  const a = s[0]! * x + s[1]! * y + s[2]!;
  const b = s[3]! * x + s[4]! * y + s[5]!;
  const r2 = a * a + b * b;
  if (r2 >= L.rimMax2) return false;
  if (r2 < L.rimMin2) return true;
  const r = Math.sqrt(r2);
  const c1 = a / r;
  const s1 = b / r;
  let rim = 1;
  let ck = 1;
  let sk = 0;
  let k = 0;
  for (let h = 0; h < L.hk.length; h++) {
    while (k < L.hk[h]!) {
      const c = ck * c1 - sk * s1;
      sk = sk * c1 + ck * s1;
      ck = c;
      k++;
    }
    rim += L.hc[h]! * ck - L.hs[h]! * sk; // amplitude cos(k phi + phase)
  }
  return r < rim;
}

/** Pixel images of one time: luminance and flow (x right, y up, Sintel units / 436) per pixel. */
export interface ScenePixels {
  readonly height: number;
  readonly width: number;
  readonly lum: Float32Array;
  readonly flowX: Float32Array;
  readonly flowY: Float32Array;
}

function checkScene(scene: Scene): void {
  if (!scene || !Array.isArray(scene.layers) || scene.layers.length === 0) flowFail('scene', 'at least one layer', scene?.layers);
  if (scene.layers[0]!.shape !== null) flowFail('scene.layers[0]', 'a background layer (shape null) that fills the view', 'a shaped layer');
  scene.layers.forEach((l, i) => {
    for (const k of ['texScale', 'mean', 'contrast', 'texAngle', 'texOffsetX', 'texOffsetY'] as const) checkNumber(`scene.layers[${i}].${k}`, l[k], k === 'texScale' ? 0 : -Infinity, Infinity, k === 'texScale');
    for (const k of ['cx', 'cy', 'vx', 'vy', 'omega', 'sigma'] as const) checkNumber(`scene.layers[${i}].motion.${k}`, l.motion[k], -Infinity);
    if (l.shape) {
      checkNumber(`scene.layers[${i}].shape.radius`, l.shape.radius, 0, Infinity, true);
      checkNumber(`scene.layers[${i}].shape.aspect`, l.shape.aspect, 0, Infinity, true);
    }
  });
}

/**
 * Renders the scene's pixels at time t (Sintel frames) on a (height, width) frame centred as
 * the BoxEye centres it: luminance at t and the flow from t to t + 1 at each pixel centre.
 */
export function renderScenePixels(scene: Scene, t: number, height: number, width: number, view: readonly number[] = [1, 0, 0, 1]): ScenePixels {
  checkScene(scene);
  const G = view;
  const det = G[0]! * G[3]! - G[1]! * G[2]!;
  if (!Number.isFinite(det) || det === 0) flowFail('view', 'an invertible 2 x 2 matrix', view);
  const Ginv = [G[3]! / det, -G[1]! / det, -G[2]! / det, G[0]! / det];
  const maps = scene.layers.map((l) => layerMaps(l, t, G, Ginv));
  const cy = Math.floor(height / 2);
  const cx = Math.floor(width / 2);
  // Which layer each pixel shows: painted back to front, each silhouette tested in its bounding box.
  const owner = new Uint8Array(height * width);
  if (maps.length > 255) flowFail('scene.layers', 'at most 255 layers', maps.length);
  for (let l = 1; l < maps.length; l++) {
    const M = maps[l]!;
    const s = M.shape!;
    // |shape coords| < rim max is an ellipse in pixels: p = S^-1 (q - s0), |q| < R
    const det = s[0]! * s[4]! - s[1]! * s[3]!;
    const R = Math.sqrt(M.rimMax2);
    const px = (-s[4]! * s[2]! + s[1]! * s[5]!) / det;
    const py = (s[3]! * s[2]! - s[0]! * s[5]!) / det;
    const ex = (R * Math.hypot(s[4]!, s[1]!)) / Math.abs(det);
    const ey = (R * Math.hypot(s[3]!, s[0]!)) / Math.abs(det);
    const r0 = Math.max(0, Math.floor(py - ey) + cy - 1);
    const r1 = Math.min(height - 1, Math.ceil(py + ey) + cy + 1);
    const c0 = Math.max(0, Math.floor(px - ex) + cx - 1);
    const c1 = Math.min(width - 1, Math.ceil(px + ex) + cx + 1);
    for (let r = r0; r <= r1; r++) for (let col = c0; col <= c1; col++) if (insideShape(M, col - cx, r - cy)) owner[r * width + col] = l;
  }
  const lum = new Float32Array(height * width);
  const flowX = new Float32Array(height * width);
  const flowY = new Float32Array(height * width);
  for (let r = 0; r < height; r++) {
    const y = r - cy;
    for (let col = 0; col < width; col++) {
      const x = col - cx;
      const i = r * width + col;
      const L = maps[owner[i]!]!;
      const tx = L.tex;
      const v = L.layer.mean + L.layer.contrast * sampleTexture(L.layer.texture, tx[0]! * x + tx[1]! * y + tx[2]!, tx[3]! * x + tx[4]! * y + tx[5]!);
      const f = L.flow;
      lum[i] = v < 0 ? 0 : v > 1 ? 1 : v;
      flowX[i] = (f[0]! * x + f[1]! * y + f[2]!) / SINTEL_HEIGHT;
      flowY[i] = -(f[3]! * x + f[4]! * y + f[5]!) / SINTEL_HEIGHT;
    }
  }
  return { height, width, lum, flowX, flowY };
}

/**
 * Renders a scene onto the lattice as flyvis renders a Sintel sequence: luminance frames at
 * times 1..frames (BoxEye mean) and, for each, the flow from the previous time (BoxEye sum over
 * the hexal's box of the per-pixel flow / 436, y up), at Sintel's frame rate (24 per second).
 */
export function renderScene(scene: Scene, o: SceneRenderOptions = {}): { lum: HexSequence; flow: HexSequence } {
  const frames = checkInt('frames', o.frames ?? 19, 1);
  const extent = checkInt('extent', o.extent ?? 15, 0);
  const kernelSize = checkInt('kernelSize', o.kernelSize ?? 13, 1);
  const eye = new BoxEye(extent, kernelSize);
  const [H, W] = sceneFrameSize(extent, kernelSize);
  const N = eye.hexals;
  const P = H * W;
  const lumPx = new Float32Array(frames * P);
  const fxPx = new Float32Array(frames * P);
  const fyPx = new Float32Array(frames * P);
  for (let t = 0; t <= frames; t++) {
    const px = renderScenePixels(scene, t, H, W, o.view);
    if (t >= 1) lumPx.set(px.lum, (t - 1) * P);
    if (t < frames) {
      fxPx.set(px.flowX, t * P);
      fyPx.set(px.flowY, t * P);
    }
  }
  const lum = eye.render({ data: lumPx, shape: [frames, H, W] }, 'mean').data;
  const fx = eye.render({ data: fxPx, shape: [frames, H, W] }, 'sum').data;
  const fy = eye.render({ data: fyPx, shape: [frames, H, W] }, 'sum').data;
  const flow = new Float32Array(frames * 2 * N);
  for (let t = 0; t < frames; t++) {
    flow.set(fx.subarray(t * N, (t + 1) * N), t * 2 * N);
    flow.set(fy.subarray(t * N, (t + 1) * N), t * 2 * N + N);
  }
  return { lum: hexSequence(lum, frames, 1, N), flow: hexSequence(flow, frames, 2, N) };
}

/** Ranges the procedural scenes are drawn from (each [low, high]). */
export interface SceneOptions {
  /** Foreground layers in front of the background (integers, default [1, 3]). */
  readonly foregroundLayers?: readonly [number, number];
  /** Translation speed, pixels per Sintel frame, log-uniform (default [0.5, 16]). */
  readonly speed?: readonly [number, number];
  /** Rotation, radians per frame, uniform in [-x, x] (default 0.03, 1.7 degrees per frame). */
  readonly maxRotation?: number;
  /** Expansion, log-scale per frame, uniform in [-x, x] (default 0.025). */
  readonly maxExpansion?: number;
  /** Texture spectral slope beta (amplitude 1/f^beta), uniform (default [0.8, 1.4]). */
  readonly beta?: readonly [number, number];
  /** Pixels per texel, log-uniform (default [1, 4]): the textures' scale. */
  readonly texScale?: readonly [number, number];
  /** Layer mean luminance, uniform (default [0.1, 0.6]). */
  readonly mean?: readonly [number, number];
  /** Layer contrast (texture standard deviation before clipping), uniform (default [0.05, 0.3]). */
  readonly contrast?: readonly [number, number];
  /** Foreground silhouette radius, pixels, log-uniform (default [25, 140]). */
  readonly radius?: readonly [number, number];
  /** Texture raster size (a power of two, default 256). */
  readonly textureSize?: number;
}

export const SCENE_DEFAULTS: Required<SceneOptions> = Object.freeze<Required<SceneOptions>>({
  foregroundLayers: [1, 3],
  speed: [0.5, 16],
  maxRotation: 0.03,
  maxExpansion: 0.025,
  beta: [0.8, 1.4],
  texScale: [1, 4],
  mean: [0.1, 0.6],
  contrast: [0.05, 0.3],
  radius: [25, 140],
  textureSize: 256,
});

function range(name: string, r: unknown, min: number, positive = false): readonly [number, number] {
  if (!Array.isArray(r) || r.length !== 2) return flowFail(name, 'a range [low, high]', r);
  checkNumber(`${name}[0]`, r[0], min, Infinity, positive);
  checkNumber(`${name}[1]`, r[1], r[0] as number);
  return r as unknown as [number, number];
}

export function resolveSceneOptions(o: SceneOptions = {}): Required<SceneOptions> {
  const r = { ...SCENE_DEFAULTS } as Required<SceneOptions>;
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (r as Record<string, unknown>)[k] = v;
  const fg = range('foregroundLayers', r.foregroundLayers, 0);
  checkInt('foregroundLayers[0]', fg[0], 0);
  checkInt('foregroundLayers[1]', fg[1], 0, 64);
  range('speed', r.speed, 0);
  checkNumber('maxRotation', r.maxRotation, 0);
  checkNumber('maxExpansion', r.maxExpansion, 0);
  range('beta', r.beta, 0);
  range('texScale', r.texScale, 0, true);
  range('mean', r.mean, -Infinity);
  range('contrast', r.contrast, 0);
  range('radius', r.radius, 0, true);
  checkInt('textureSize', r.textureSize, 2);
  return r;
}

/** Draws a speed (log-uniform, or the low end when the range is a point) and a direction. */
function velocity(rng: Xoshiro128, speed: readonly [number, number]): [number, number] {
  const s = speed[0] > 0 ? logUniform(rng, speed[0], speed[1]) : uniformIn(rng, speed[0], speed[1]);
  const a = uniformIn(rng, 0, 2 * Math.PI);
  return [s * Math.cos(a), s * Math.sin(a)];
}

/**
 * Draws a scene for a frame of (height, width): a background and foreground layers, each with
 * its own 1/f texture (slope, scale, mean, contrast), silhouette (foreground) and rigid motion.
 */
export function sampleScene(rng: Xoshiro128, frame: readonly [number, number], options: SceneOptions = {}): Scene {
  const o = resolveSceneOptions(options);
  const [H, W] = frame;
  const nFg = randint(rng, o.foregroundLayers[0], o.foregroundLayers[1] + 1);
  const layers: SceneLayer[] = [];
  for (let i = 0; i <= nFg; i++) {
    const texture = pinkNoiseTexture(rng, o.textureSize, uniformIn(rng, o.beta[0], o.beta[1]));
    const look = {
      texture,
      texScale: logUniform(rng, o.texScale[0], o.texScale[1]),
      texAngle: uniformIn(rng, 0, 2 * Math.PI),
      texOffsetX: uniformIn(rng, 0, o.textureSize),
      texOffsetY: uniformIn(rng, 0, o.textureSize),
      mean: uniformIn(rng, o.mean[0], o.mean[1]),
      contrast: uniformIn(rng, o.contrast[0], o.contrast[1]),
    };
    let shape: LayerShape | null = null;
    let cx: number;
    let cy: number;
    if (i === 0) {
      // the background turns and expands about a point near the view's centre
      cx = uniformIn(rng, -W / 4, W / 4);
      cy = uniformIn(rng, -H / 4, H / 4);
    } else {
      cx = uniformIn(rng, -W / 2, W / 2);
      cy = uniformIn(rng, -H / 2, H / 2);
      const harmonics = [2, 3, 4, 5].map((k) => ({ k, amplitude: uniformIn(rng, 0, 0.3 / (k - 1)), phase: uniformIn(rng, 0, 2 * Math.PI) }));
      shape = { cx, cy, radius: logUniform(rng, o.radius[0], o.radius[1]), aspect: logUniform(rng, 0.5, 2), angle: uniformIn(rng, 0, Math.PI), harmonics };
    }
    const [vx, vy] = velocity(rng, o.speed);
    const motion = { cx, cy, vx, vy, omega: uniformIn(rng, -o.maxRotation, o.maxRotation), sigma: uniformIn(rng, -o.maxExpansion, o.maxExpansion) };
    layers.push({ ...look, shape, motion });
  }
  return { layers };
}
