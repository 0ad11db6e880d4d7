// Hexagonal lattice maps on canvases: each pixel is assigned once to the cell whose hexagon holds
// it (flyvis's hex_to_pixel: x = 3/2 v, y = -sqrt(3) (u + v/2), flat-topped hexagons of radius 1),
// so a frame is drawn by one pass over the pixels with a colour lookup table.

/** Lattice units per pixel of a size x size map of the lattice of `extent`. */
export function latticeScale(size: number, extent: number): number {
  const halfX = 1.5 * extent + 1;
  const halfY = Math.sqrt(3) * (extent + 0.5);
  return Math.max(halfX, halfY) / (size / 2);
}

/** The centre of the hexagon of (u, v) in pixels of a size x size map (x right, y down). */
export function hexCentre(u: number, v: number, size: number, extent: number): [number, number] {
  const scale = latticeScale(size, extent);
  return [size / 2 + (1.5 * v) / scale, size / 2 - (Math.sqrt(3) * (u + v / 2)) / scale];
}

/** The node drawn at each pixel of a size x size canvas (-1: background), for cells at (u, v). */
export function rasterize(nodes: ArrayLike<number>, u: ArrayLike<number>, v: ArrayLike<number>, size: number, extent: number): Int32Array {
  const at = new Map<string, number>();
  for (let i = 0; i < nodes.length; i++) at.set(`${u[i]},${v[i]}`, nodes[i]!);
  const scale = latticeScale(size, extent); // lattice units per pixel
  const out = new Int32Array(size * size).fill(-1);
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      const x = (px + 0.5 - size / 2) * scale;
      const y = (py + 0.5 - size / 2) * scale;
      // invert hex_to_pixel, then round the cube coordinates (q = v, r = u, s = -u - v)
      const fv = x / 1.5;
      const fu = -y / Math.sqrt(3) - fv / 2;
      let rv = Math.round(fv);
      let ru = Math.round(fu);
      const rs = Math.round(-fu - fv);
      const dv = Math.abs(rv - fv);
      const du = Math.abs(ru - fu);
      const ds = Math.abs(rs + fu + fv);
      if (dv > du && dv > ds) rv = -ru - rs;
      else if (du > ds) ru = -rv - rs;
      const node = at.get(`${ru},${rv}`);
      if (node !== undefined) out[py * size + px] = node;
    }
  }
  return out;
}

/** A colour lookup table: 256 RGB entries interpolated through the given hex colours. */
export function colourTable(stops: readonly string[]): Uint8Array {
  const rgb = stops.map((s) => [1, 3, 5].map((i) => parseInt(s.slice(i, i + 2), 16)));
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const f = (i / 255) * (rgb.length - 1);
    const k = Math.min(rgb.length - 2, Math.floor(f));
    const a = f - k;
    for (let c = 0; c < 3; c++) lut[i * 3 + c] = Math.round(rgb[k]![c]! * (1 - a) + rgb[k + 1]![c]! * a);
  }
  return lut;
}

/**
 * ColorBrewer PuOr (colour-blind safe, diverging), purple for negative, white at zero, orange
 * for positive.
 */
export const DIVERGING = colourTable(['#2d004b', '#542788', '#8073ac', '#b2abd2', '#d8daeb', '#f7f7f7', '#fee0b6', '#fdb863', '#e08214', '#b35806', '#7f3b08']);
export const GREYS = colourTable(['#000000', '#ffffff']);

/** The lookup table entry (0 to 255) of value x on the scale lo..hi (127 for a value that is not finite). */
export function colourIndex(x: number, lo: number, hi: number): number {
  const span = hi > lo ? 255 / (hi - lo) : 0;
  return Number.isFinite(x) ? Math.max(0, Math.min(255, Math.round((x - lo) * span))) : 127;
}

/** The colour of lookup table entry k as '#rrggbb'. */
export function lutHex(lut: Uint8Array, k: number): string {
  return `#${[0, 1, 2].map((c) => lut[k * 3 + c]!.toString(16).padStart(2, '0')).join('')}`;
}

/** Fills `image` (RGBA) from `pixels` (node per pixel): colour = lut[(value(node) - lo) / (hi - lo)]. */
export function paint(image: { readonly data: Uint8ClampedArray }, pixels: Int32Array, value: (node: number) => number, lo: number, hi: number, lut: Uint8Array): void {
  const d = image.data;
  for (let p = 0; p < pixels.length; p++) {
    const node = pixels[p]!;
    if (node < 0) {
      d[p * 4 + 3] = 0;
      continue;
    }
    const k = colourIndex(value(node), lo, hi);
    d[p * 4] = lut[k * 3]!;
    d[p * 4 + 1] = lut[k * 3 + 1]!;
    d[p * 4 + 2] = lut[k * 3 + 2]!;
    d[p * 4 + 3] = 255;
  }
}
