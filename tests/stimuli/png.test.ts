// The PNG frame reader: images written here with every row filter, decoded back exactly;
// PNG sequences rendered through the BoxEye as users' movies.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { decodePng } from '../../src/stimuli/png.ts';
import { loadMovies, pngFrameFiles } from '../../src/stimuli/load.ts';

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

/** Encodes 8-bit pixels (channels 1 = grey, 3 = RGB) using filter (row % 5) on each row. */
function encodePng(pixels: Uint8Array, width: number, height: number, channels: 1 | 3): Uint8Array {
  const bpp = channels;
  const stride = width * bpp;
  const raw = new Uint8Array(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    const f = y % 5;
    raw[y * (stride + 1)] = f;
    for (let i = 0; i < stride; i++) {
      const x = pixels[y * stride + i]!;
      const a = i >= bpp ? pixels[y * stride + i - bpp]! : 0;
      const b = y > 0 ? pixels[(y - 1) * stride + i]! : 0;
      const c = i >= bpp && y > 0 ? pixels[(y - 1) * stride + i - bpp]! : 0;
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      const pred = [0, a, b, (a + b) >> 1, paeth][f]!;
      raw[y * (stride + 1) + 1 + i] = (x - pred) & 0xff;
    }
  }
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr.set([8, channels === 1 ? 0 : 2, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))]);
}

const dir = mkdtempSync(join(tmpdir(), 'flyvis-png-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('decodePng', () => {
  it('decodes greyscale with every filter type exactly', () => {
    const w = 13;
    const h = 11;
    const px = Uint8Array.from({ length: w * h }, (_, i) => (i * 37 + (i >> 3) * 11) & 0xff);
    const img = decodePng(encodePng(px, w, h, 1));
    expect([img.width, img.height]).toEqual([w, h]);
    img.data.forEach((x, i) => expect(x).toBeCloseTo(px[i]! / 255, 6));
  });

  it('turns RGB into luminance', () => {
    const px = Uint8Array.of(255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255);
    const img = decodePng(encodePng(px, 2, 2, 3));
    expect(Array.from(img.data).map((x) => +x.toFixed(3))).toEqual([0.299, 0.587, 0.114, 1]);
  });

  it('rejects what is not a PNG, naming the file', () => {
    expect(() => decodePng(new Uint8Array(20), 'frame.png')).toThrow(/frame.png: not a PNG/);
  });
});

describe('PNG sequences as movies', () => {
  it('loads a directory of frames in natural order through the BoxEye', () => {
    const W = 60;
    for (const [name, value] of [['f2.png', 100], ['f10.png', 200], ['f1.png', 50]] as const) {
      writeFileSync(join(dir, name), encodePng(new Uint8Array(W * W).fill(value), W, W, 1));
    }
    expect(pngFrameFiles(dir).map((f) => f.slice(dir.length + 1))).toEqual(['f1.png', 'f2.png', 'f10.png']);
    const movies = loadMovies(dir, 2, { kernelSize: 5 });
    movies.dt = 0.01;
    const m = movies.get(0);
    expect(m.shape).toEqual([3, 19]);
    // uniform frames -> uniform receptors, in file order
    for (let k = 0; k < 3; k++) for (let h = 0; h < 19; h++) expect(m.data[k * 19 + h]).toBeCloseTo([50, 100, 200][k]! / 255, 5);
  });

  it('reports a directory without PNGs', () => {
    const empty = mkdtempSync(join(dir, 'empty-'));
    expect(() => loadMovies(empty, 2)).toThrow(/expected PNG frames/);
  });
});
