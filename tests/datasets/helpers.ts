// Test helpers for the flow datasets: a PNG encoder (8-bit RGB, every row filter type) and a
// tiny MPI Sintel folder laid out as Sintel unpacks (training/<pass>/<scene>/frame_NNNN.png,
// training/flow/<scene>/frame_NNNN.flo).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodePng } from '../helpers/png.ts';
import { encodeFlo } from '../../src/datasets/flow/sintel.ts';

/** Encodes 8-bit RGB pixels (height, width, 3) as a PNG, row filter (row % 5) on each row. */
export const encodeRgbPng = (rgb: Uint8Array, width: number, height: number): Uint8Array => encodePng(rgb, width, height, 3);

export interface TinyScene {
  name: string;
  frames: number;
  /** Grey value (0..255) of pixel (x, y) of frame k (1-based). */
  grey: (x: number, y: number, k: number) => number;
  /** Flow (u rightward, v downward, pixels) at (x, y) of flow file k (1-based: frame k to k + 1). */
  flow: (x: number, y: number, k: number) => [number, number];
}

/** Writes a Sintel-shaped folder under root: width x height frames, one fewer .flo per scene. */
export function writeTinySintel(root: string, width: number, height: number, scenes: readonly TinyScene[], pass = 'final'): void {
  for (const s of scenes) {
    const fdir = join(root, 'training', pass, s.name);
    const odir = join(root, 'training', 'flow', s.name);
    mkdirSync(fdir, { recursive: true });
    mkdirSync(odir, { recursive: true });
    for (let k = 1; k <= s.frames; k++) {
      const rgb = new Uint8Array(width * height * 3);
      for (let y = 0; y < height; y++)
        for (let x = 0; x < width; x++) {
          const g = s.grey(x, y, k);
          rgb.set([g, g, g], (y * width + x) * 3);
        }
      writeFileSync(join(fdir, `frame_${String(k).padStart(4, '0')}.png`), encodeRgbPng(rgb, width, height));
      if (k < s.frames) {
        const uv = new Float32Array(width * height * 2);
        for (let y = 0; y < height; y++)
          for (let x = 0; x < width; x++) uv.set(s.flow(x, y, k), (y * width + x) * 2);
        writeFileSync(join(odir, `frame_${String(k).padStart(4, '0')}.flo`), encodeFlo(width, height, uv));
      }
    }
  }
}
