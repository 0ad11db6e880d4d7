// Test helpers for the flow datasets: a PNG encoder (8-bit RGB, every row filter type) and a
// tiny MPI Sintel folder laid out as Sintel unpacks (training/<pass>/<scene>/frame_NNNN.png,
// training/flow/<scene>/frame_NNNN.flo).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { encodeFlo } from '../../src/datasets/flow/sintel.ts';

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc = (b: Uint8Array): number => {
  let c = 0xffffffff;
  for (const x of b) c = crcTable[(c ^ x) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};
function chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, body.length);
  out.set(Buffer.from(type, 'ascii'), 4);
  out.set(body, 8);
  v.setUint32(8 + body.length, crc(out.subarray(4, 8 + body.length)));
  return out;
}

/** Encodes 8-bit RGB pixels (height, width, 3) as a PNG, row filter (row % 5) on each row. */
export function encodeRgbPng(rgb: Uint8Array, width: number, height: number): Uint8Array {
  const stride = width * 3;
  const raw = new Uint8Array(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    const f = y % 5;
    raw[y * (stride + 1)] = f;
    for (let i = 0; i < stride; i++) {
      const x = rgb[y * stride + i]!;
      const a = i >= 3 ? rgb[y * stride + i - 3]! : 0;
      const b = y > 0 ? rgb[(y - 1) * stride + i]! : 0;
      const c = i >= 3 && y > 0 ? rgb[(y - 1) * stride + i - 3]! : 0;
      let p = 0;
      if (f === 1) p = a;
      else if (f === 2) p = b;
      else if (f === 3) p = (a + b) >> 1;
      else if (f === 4) {
        const q = a + b - c;
        const pa = Math.abs(q - a);
        const pb = Math.abs(q - b);
        const pc = Math.abs(q - c);
        p = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      raw[y * (stride + 1) + 1 + i] = (x - p) & 0xff;
    }
  }
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))]);
}

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
