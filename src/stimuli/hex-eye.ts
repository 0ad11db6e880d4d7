// flyvis's HexEye: parametric stimuli rendered on a pixel monitor, each hexal the mean of the
// pixels inside its hexagon. Geometry as flyvis's (rendering/eye.py, rendering/utils.py):
//   - the monitor is ppo * (2e + 1) pixels square (775 px at extent 15, ppo 25);
//   - hexal (u, v) is centred at column c + d v, row c + d (u + v / 2), with d = ppo and
//     c = floor(width / 2); it owns the pixels strictly inside the regular hexagon with
//     apothem d / 2 and a vertex along the columns (flyvis `is_inside_hex`, tilt 0);
//   - a stimulus drawn for direction 0 is rotated counter-clockwise by `angle` degrees about
//     the monitor centre (flyvis rotates the image with PIL), so motion at angle θ goes towards
//     (x, y) = (cos θ, sin θ) with x to the right (+v) and y up (-u).
// Distances are in visual degrees: one ommatidium is 5.8°, one LED 2.25°; sizes convert to
// pixels as int(deg / 5.8 * ppo) and horizontal locations as int(width_15 * deg / 180) with
// the 775-px monitor of extent 15 (90° is the monitor centre), as flyvis does at extent 15.
// Differences from flyvis: we sample the rotated stimulus exactly at each pixel centre
// (nearest, no bilinear interpolation, no 8-bit quantisation of the rotated image, so grey
// stays exactly 0.5); edges can therefore differ from flyvis's by about a pixel.
import { hexLattice, type HexLattice } from './hex.ts';
import { checkFinite, checkInteger, checkPositive } from './errors.ts';
import type { Frames } from './movie.ts';

export const OMMATIDIUM_DEG = 5.8;
export const LED_DEG = 2.25;

export interface BarSpec {
  /** Bar width and height in degrees (flyvis: width x LED_DEG, height x LED_DEG). */
  readonly widthDeg: number;
  readonly heightDeg: number;
  /** Centre of the (unrotated) bar, horizontally, in degrees; 90 is the monitor centre. */
  readonly locHorizontalDeg: number;
  /** Centre vertically, in degrees; 90 is the monitor centre. */
  readonly locVerticalDeg?: number;
  readonly nBars?: number;
  readonly intensity: number;
  readonly bgIntensity: number;
  /** Direction of motion (rotation of the image), degrees counter-clockwise. */
  readonly angle: number;
}

export interface GratingSpec {
  readonly periodDeg: number;
  readonly phaseDeg: number;
  readonly intensity: number;
  readonly bgIntensity: number;
  readonly angle: number;
  readonly widthDeg?: number;
  readonly heightDeg?: number;
}

export class HexEye {
  readonly lattice: HexLattice;
  readonly monitorPx: number;
  /** Pixels per degree for locations (flyvis: monitor width / 180° at extent 15). */
  readonly pxPerDegLoc: number;
  private readonly center: number;
  /** Per hexal, the (row, col) pixels inside its hexagon, flattened as row * W + col. */
  private readonly pixelStart: Int32Array;
  private readonly pixels: Int32Array;

  constructor(
    readonly extent = 15,
    readonly ppo = 25,
  ) {
    checkInteger('extent', extent, 0);
    checkInteger('ppo', ppo, 1);
    this.lattice = hexLattice(extent);
    const W = ppo * (2 * extent + 1);
    this.monitorPx = W;
    this.pxPerDegLoc = (ppo * 31) / 180;
    this.center = Math.floor(W / 2);
    const n = this.lattice.length;
    const d = ppo;
    const apothem = d / 2;
    const normals = [30, 90, 150].map((a) => [Math.cos((a * Math.PI) / 180), Math.sin((a * Math.PI) / 180)] as const);
    const lists: number[][] = [];
    const r = Math.ceil(d / Math.sqrt(3)) + 1;
    for (let h = 0; h < n; h++) {
      // flyvis: x (columns) = d v + W // 2, y (rows) = d (u + v / 2) + H // 2.
      const xc = d * this.lattice.v[h]! + this.center;
      const yc = d * (this.lattice.u[h]! + this.lattice.v[h]! / 2) + this.center;
      const list: number[] = [];
      for (let row = Math.max(0, Math.floor(yc - r)); row <= Math.min(W - 1, Math.ceil(yc + r)); row++) {
        for (let col = Math.max(0, Math.floor(xc - r)); col <= Math.min(W - 1, Math.ceil(xc + r)); col++) {
          const px = col - xc;
          const py = row - yc;
          if (normals.every(([nx, ny]) => Math.abs(px * nx + py * ny) < apothem - 1e-9)) list.push(row * W + col);
        }
      }
      lists.push(list);
    }
    this.pixelStart = new Int32Array(n + 1);
    lists.forEach((l, h) => (this.pixelStart[h + 1] = this.pixelStart[h]! + l.length));
    this.pixels = new Int32Array(this.pixelStart[n]!);
    lists.forEach((l, h) => this.pixels.set(l, this.pixelStart[h]!));
  }

  get hexals(): number {
    return this.lattice.length;
  }

  /**
   * Direction (degrees counter-clockwise from rightward, [0, 360)) in which hexal (u, v) lies
   * from the centre on this eye's monitor: the angle an edge moving towards it has.
   */
  static directionOf(u: number, v: number): number {
    const x = v; // columns: d v
    const y = -(u + v / 2); // up: -rows = -d (u + v / 2)
    return ((Math.atan2(y, x) * 180) / Math.PI + 360) % 360;
  }

  /** Number of pixels each hexal averages. */
  kernelSum(h: number): number {
    return this.pixelStart[h + 1]! - this.pixelStart[h]!;
  }

  /** Mean over each hexagon of `intensity(row, col)` (pixel coordinates of the monitor). */
  renderFunction(intensity: (row: number, col: number) => number): Float32Array {
    const W = this.monitorPx;
    const out = new Float32Array(this.hexals);
    for (let h = 0; h < this.hexals; h++) {
      let s = 0;
      const a = this.pixelStart[h]!;
      const b = this.pixelStart[h + 1]!;
      for (let k = a; k < b; k++) {
        const p = this.pixels[k]!;
        s += intensity(Math.floor(p / W), p % W);
      }
      out[h] = b > a ? s / (b - a) : NaN;
    }
    return out;
  }

  /** Renders a (monitorPx x monitorPx) image (row-major) to hexals: the mean per hexagon. */
  renderImage(image: ArrayLike<number>): Float32Array {
    const W = this.monitorPx;
    if (image.length !== W * W) throw new RangeError(`image: expected ${W}x${W} = ${W * W} pixels for extent ${this.extent}, ppo ${this.ppo}; got ${image.length}`);
    return this.renderFunction((r, c) => image[r * W + c]!);
  }

  /**
   * Maps a monitor pixel to the unrotated stimulus frame: rotating the stimulus
   * counter-clockwise by `angle` about the centre = sampling it at the pixel rotated clockwise.
   */
  private unrotate(angle: number): (row: number, col: number) => [number, number] {
    const a = (angle * Math.PI) / 180;
    const cos = Math.cos(a);
    const sin = Math.sin(a);
    const c = this.center;
    if (angle % 360 === 0) return (row, col) => [row, col];
    return (row, col) => {
      const x = col - c;
      const y = c - row; // up
      const xr = x * cos + y * sin;
      const yr = -x * sin + y * cos;
      return [Math.round(c - yr), Math.round(xr + c)];
    };
  }

  /** flyvis `render_bar`: bars (or an edge, with a very wide bar), one frame of hexals. */
  renderBar(spec: BarSpec): Float32Array {
    const widthPx = Math.trunc((checkFinite('bar width', spec.widthDeg) / OMMATIDIUM_DEG) * this.ppo);
    const heightPx = Math.trunc((checkFinite('bar height', spec.heightDeg) / OMMATIDIUM_DEG) * this.ppo);
    const W = this.monitorPx;
    // flyvis: int(W * loc / 180°); relative to the centre W / 2 for other extents.
    const locH = Math.trunc(W / 2 + (checkFinite('bar location', spec.locHorizontalDeg) - 90) * this.pxPerDegLoc);
    const locV = Math.trunc(W / 2 + ((spec.locVerticalDeg ?? 90) - 90) * this.pxPerDegLoc);
    const nBars = checkInteger('n_bars', spec.nBars ?? 1, 1);
    const spacing = Math.trunc(W / nBars - widthPx);
    const rowLo = Math.trunc(locV - heightPx / 2);
    const rowHi = Math.trunc(locV + heightPx / 2); // inclusive (python slice end + 1)
    const locW = Math.trunc(locH - widthPx / 2);
    const spans: [number, number][] = [];
    for (let i = 0; i < nBars; i++) {
      const start = Math.max(locW + i * widthPx + i * spacing, 0);
      spans.push([start, locW + (i + 1) * widthPx + i * spacing]); // inclusive
    }
    const map = this.unrotate(checkFinite('angle', spec.angle));
    // flyvis pads with edge values before rotating: clamp into the monitor.
    const clamp = (x: number): number => Math.min(Math.max(x, 0), W - 1);
    return this.renderFunction((row, col) => {
      const [r0, c0] = map(row, col);
      const r = clamp(r0);
      const c = clamp(c0);
      if (r < Math.max(rowLo, 0) || r > rowHi) return spec.bgIntensity;
      for (const [a, b] of spans) if (c >= a && c <= b) return spec.intensity;
      return spec.bgIntensity;
    });
  }

  /** flyvis `render_grating`: a square-wave grating, one frame of hexals. */
  renderGrating(spec: GratingSpec): Float32Array {
    const periodPx = Math.trunc((checkPositive('period', spec.periodDeg) / OMMATIDIUM_DEG) * this.ppo);
    if (periodPx < 1) checkPositive('period (pixels)', 0);
    const phasePx = Math.trunc((checkFinite('phase', spec.phaseDeg) / OMMATIDIUM_DEG) * this.ppo);
    const W = this.monitorPx;
    const heightPx = spec.heightDeg ? Math.trunc((spec.heightDeg / OMMATIDIUM_DEG) * this.ppo) : 0;
    const widthPx = spec.widthDeg ? Math.trunc((spec.widthDeg / OMMATIDIUM_DEG) * this.ppo) : 0;
    const half = Math.floor(W / 2);
    const map = this.unrotate(checkFinite('angle', spec.angle));
    const clamp = (x: number): number => Math.min(Math.max(x, 0), W - 1);
    return this.renderFunction((row, col) => {
      const [r0, c0] = map(row, col);
      const r = clamp(r0);
      const c = clamp(c0);
      if (heightPx && (r < Math.trunc(half - heightPx / 2) || r > Math.trunc(half + heightPx / 2))) return 0.5;
      if (widthPx && (c < Math.trunc(half - widthPx / 2) || c > Math.trunc(half + widthPx / 2))) return 0.5;
      // scipy.signal.square(2π / (P / W) * (linspace(-1/2, 1/2, W) - phase / W)): +1 on the first half period.
      const xlin = W === 1 ? -0.5 : -0.5 + c / (W - 1);
      const t = (xlin - phasePx / W) * (W / periodPx); // in periods
      const frac = t - Math.floor(t);
      return frac < 0.5 ? spec.intensity : spec.bgIntensity;
    });
  }

  /** flyvis `render_offset_bars`: one frame per offset (degrees added to the horizontal location). */
  renderOffsetBars(spec: Omit<BarSpec, 'locHorizontalDeg'> & { locHorizontalDeg?: number }, offsetsDeg: readonly number[]): Frames {
    const n = this.hexals;
    const out = new Float32Array(offsetsDeg.length * n);
    offsetsDeg.forEach((o, k) => out.set(this.renderBar({ ...spec, locHorizontalDeg: (spec.locHorizontalDeg ?? 90) + o }), k * n));
    return { data: out, shape: [offsetsDeg.length, n] };
  }
}
