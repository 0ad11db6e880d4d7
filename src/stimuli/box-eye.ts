// flyvis's BoxEye: cartesian images and movies to the receptor lattice. Receptor centres sit on
// a hexagonal grid `kernelSize` pixels apart (y = d(u + v/2), x = d v around the frame centre)
// and each receptor reads the mean of the kernelSize x kernelSize pixel box around its centre
// (zero padding beyond the frame, as flyvis's convolution). Frames smaller than the grid are
// first resized (bilinear) to the minimum frame size, as flyvis does.
import { hexLattice, type HexLattice } from './hex.ts';
import { checkInteger, fail } from './errors.ts';
import type { Movie } from './movie.ts';

export interface ImageStack {
  /** (samples, frames, height, width), row-major. */
  readonly data: ArrayLike<number>;
  readonly shape: readonly number[];
}

export class BoxEye {
  readonly lattice: HexLattice;
  /** Receptor centres relative to the frame centre, (y, x) per hexal, in pixels. */
  readonly centerY: Int32Array;
  readonly centerX: Int32Array;
  /** Smallest frame (height, width) that holds every receptor centre. */
  readonly minFrameSize: readonly [number, number];
  readonly hexals: number;

  constructor(
    readonly extent = 15,
    readonly kernelSize = 13,
  ) {
    checkInteger('extent', extent, 0);
    checkInteger('kernel_size', kernelSize, 1);
    this.lattice = hexLattice(extent);
    const n = this.lattice.length;
    this.hexals = n;
    this.centerY = new Int32Array(n);
    this.centerX = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      // flyvis stores these as torch.long: d * (u + v / 2) truncated toward zero.
      this.centerY[i] = Math.trunc(kernelSize * (this.lattice.u[i]! + this.lattice.v[i]! / 2));
      this.centerX[i] = kernelSize * this.lattice.v[i]!;
    }
    const span = (a: Int32Array): number => Math.max(...a) - Math.min(...a) + 1;
    this.minFrameSize = [span(this.centerY), span(this.centerX)];
  }

  /**
   * Renders (samples, frames, height, width) images (or one (height, width) image, or
   * (frames, height, width)) to (samples, frames, 1, hexals) receptor inputs.
   */
  render(images: ImageStack, ftype: 'mean' | 'sum' = 'mean'): Movie {
    const s = images.shape;
    if (s.length < 2 || s.length > 4) fail('images', 'shape (height, width), (frames, height, width) or (samples, frames, height, width)', `(${s.join(', ')})`);
    const [S, T, H0, W0] = s.length === 4 ? (s as [number, number, number, number]) : s.length === 3 ? [1, s[0]!, s[1]!, s[2]!] : [1, 1, s[0]!, s[1]!];
    if (images.data.length !== S * T * H0 * W0) fail('images', `${S * T * H0 * W0} values for shape (${s.join(', ')})`, images.data.length);
    if (H0 < 1 || W0 < 1) fail('images', 'non-empty frames', `(${s.join(', ')})`);
    const [minH, minW] = this.minFrameSize;
    const resize = minH > H0 || minW > W0;
    const H = resize ? minH : H0;
    const W = resize ? minW : W0;
    const k = this.kernelSize;
    const padLow = Math.ceil((k - 1) / 2);
    const n = this.hexals;
    const out = new Float32Array(S * T * n);
    // Summed-area table per frame: box sums in O(1).
    const sat = new Float64Array((H + 1) * (W + 1));
    const frame = new Float64Array(H * W);
    const cy = Math.floor(H / 2);
    const cx = Math.floor(W / 2);
    for (let f = 0; f < S * T; f++) {
      const src = f * H0 * W0;
      if (resize) bilinearResize(images.data, src, H0, W0, frame, H, W);
      else for (let i = 0; i < H * W; i++) frame[i] = images.data[src + i]!;
      for (let y = 0; y < H; y++) {
        let row = 0;
        for (let x = 0; x < W; x++) {
          const val = frame[y * W + x]!;
          if (!Number.isFinite(val)) fail('images', 'finite pixel values', val);
          row += val;
          sat[(y + 1) * (W + 1) + x + 1] = sat[y * (W + 1) + x + 1]! + row;
        }
      }
      for (let h = 0; h < n; h++) {
        const y = this.centerY[h]! + cy;
        const x = this.centerX[h]! + cx;
        const y0 = Math.max(0, y - padLow);
        const y1 = Math.min(H, y - padLow + k);
        const x0 = Math.max(0, x - padLow);
        const x1 = Math.min(W, x - padLow + k);
        const sum = y1 > y0 && x1 > x0 ? sat[y1 * (W + 1) + x1]! - sat[y0 * (W + 1) + x1]! - sat[y1 * (W + 1) + x0]! + sat[y0 * (W + 1) + x0]! : 0;
        out[f * n + h] = ftype === 'mean' ? sum / (k * k) : sum;
      }
    }
    return { data: out, shape: [S, T, 1, n] };
  }
}

/** torchvision-style bilinear resize (align_corners = false) of one frame. */
function bilinearResize(src: ArrayLike<number>, off: number, h: number, w: number, dst: Float64Array, H: number, W: number): void {
  const sy = h / H;
  const sx = w / W;
  for (let y = 0; y < H; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), h - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, h - 1);
    const ay = fy - y0;
    for (let x = 0; x < W; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), w - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, w - 1);
      const ax = fx - x0;
      const a = src[off + y0 * w + x0]! * (1 - ax) + src[off + y0 * w + x1]! * ax;
      const b = src[off + y1 * w + x0]! * (1 - ax) + src[off + y1 * w + x1]! * ax;
      dst[y * W + x] = a * (1 - ay) + b * ay;
    }
  }
}
