// A small PNG decoder (node:zlib for the deflate stream) for frame sequences used as stimuli:
// 8- and 16-bit greyscale, grey + alpha, RGB, RGBA, and 1/2/4/8-bit palette images, not
// interlaced. Pixels become luminance in [0, 1] (Rec. 601 weights for colour, alpha ignored;
// `luminance: 'pil'` gives PIL's `convert("L")` / 255 instead, as flyvis reads Sintel frames).
import { BoundedReadError, readFileBounded } from '../io/read-bounded.ts';

/** A PNG frame may be at most this many bytes (a 16k x 16k 16-bit RGBA image is ~2 GB raw; frames are small). */
export const MAX_PNG_BYTES = 512e6;
import { inflateSync } from 'node:zlib';
import { StimulusParamError } from './errors.ts';

export interface GreyImage {
  readonly width: number;
  readonly height: number;
  /** Row-major luminance in [0, 1]. */
  readonly data: Float32Array;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

export function decodePng(bytes: Uint8Array, what = 'png', luminance: 'rec601' | 'pil' = 'rec601'): GreyImage {
  const bad = (msg: string): never => {
    throw new StimulusParamError(`${what}: ${msg}`);
  };
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) bad('not a PNG file (bad signature)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 8;
  let width = 0;
  let height = 0;
  let depth = 0;
  let colorType = -1;
  let palette: Uint8Array | undefined;
  const idat: Uint8Array[] = [];
  while (pos + 8 <= bytes.length) {
    const len = view.getUint32(pos);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    const body = bytes.subarray(pos + 8, pos + 8 + len);
    if (body.length !== len) bad(`truncated ${type} chunk`);
    if (type === 'IHDR') {
      width = view.getUint32(pos + 8);
      height = view.getUint32(pos + 12);
      depth = bytes[pos + 16]!;
      colorType = bytes[pos + 17]!;
      if (bytes[pos + 20] !== 0) bad('interlaced PNGs are not supported (save without interlacing)');
    } else if (type === 'PLTE') palette = body;
    else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
    pos += 12 + len;
  }
  const channels = CHANNELS[colorType];
  if (width < 1 || height < 1 || channels === undefined) bad('missing or unsupported IHDR (colour type must be 0, 2, 3, 4 or 6)');
  if (colorType === 3 ? ![1, 2, 4, 8].includes(depth) : ![8, 16].includes(depth)) bad(`unsupported bit depth ${depth} for colour type ${colorType}`);
  if (colorType === 3 && palette === undefined) bad('palette image without PLTE chunk');
  let raw: Uint8Array;
  try {
    raw = inflateSync(Buffer.concat(idat));
  } catch (e) {
    return bad(`corrupt image data (${(e as Error).message})`);
  }
  const bitsPerPixel = channels! * depth;
  const bpp = Math.max(1, bitsPerPixel >> 3);
  const stride = Math.ceil((width * bitsPerPixel) / 8);
  if (raw.length < height * (stride + 1)) bad(`image data too short for ${width}x${height}`);
  const cur = new Uint8Array(stride);
  const prev = new Uint8Array(stride);
  const out = new Float32Array(width * height);
  const max = depth === 16 ? 65535 : 255;
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? cur[i - bpp]! : 0;
      const b = prev[i]!;
      const c = i >= bpp ? prev[i - bpp]! : 0;
      let x = line[i]!;
      if (filter === 1) x += a;
      else if (filter === 2) x += b;
      else if (filter === 3) x += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        x += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else if (filter !== 0) bad(`unknown filter type ${filter} in row ${y}`);
      cur[i] = x & 0xff;
    }
    const sample = (i: number): number => (depth === 16 ? (cur[2 * i]! << 8) | cur[2 * i + 1]! : cur[i]!);
    // PIL: 8-bit integer L = (19595 R + 38470 G + 7471 B + 2^15) >> 16 (palette entries alike);
    // 16-bit colour (and grey + alpha) keeps the high byte, 16-bit grey ("I;16") is clipped to 255.
    const pil = (r: number, g: number, b: number): number => ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >>> 16) / 255;
    const hi = (i: number): number => (depth === 16 ? cur[2 * i]! : cur[i]!);
    for (let xpx = 0; xpx < width; xpx++) {
      let lum: number;
      if (colorType === 3) {
        const bit = xpx * depth;
        const idx = (cur[bit >> 3]! >> (8 - depth - (bit & 7))) & ((1 << depth) - 1);
        if (3 * idx + 2 >= palette!.length) bad(`palette index ${idx} out of range`);
        if (luminance === 'pil') lum = pil(palette![3 * idx]!, palette![3 * idx + 1]!, palette![3 * idx + 2]!);
        else lum = (0.299 * palette![3 * idx]! + 0.587 * palette![3 * idx + 1]! + 0.114 * palette![3 * idx + 2]!) / 255;
      } else if (channels! >= 3) {
        const o = xpx * channels!;
        if (luminance === 'pil') lum = pil(hi(o), hi(o + 1), hi(o + 2));
        else lum = (0.299 * sample(o) + 0.587 * sample(o + 1) + 0.114 * sample(o + 2)) / max;
      } else if (luminance === 'pil') lum = (channels === 1 ? Math.min(sample(xpx), 255) : hi(xpx * 2)) / 255;
      else lum = sample(xpx * channels!) / max;
      out[y * width + xpx] = lum;
    }
    prev.set(cur);
  }
  return { width, height, data: out };
}

export function readPng(file: string): GreyImage {
  let bytes: Uint8Array;
  try {
    bytes = readFileBounded(file, MAX_PNG_BYTES, 'a PNG frame');
  } catch (e) {
    if (e instanceof BoundedReadError) throw new StimulusParamError(e.message);
    throw new StimulusParamError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return decodePng(bytes, file);
}
