// conv2dHex's WebAssembly kernels (f64x2 SIMD; source in conv2d-hex-wasm-source.ts), platform
// neutral: the module's bytes are part of the code (conv2d-hex-wasm-bytes.ts, built ahead of use
// by conv2d-hex-wasm-build.ts), compiled and instantiated synchronously on first use, in Node and
// in browsers alike. Where WebAssembly or its SIMD is missing (or refused, e.g. by a page's
// content security policy), `conv2dHexWasm()` is null and conv2dHex runs its JavaScript loops
// (conv2d-hex-kernels.ts), which give the same bits.
//
// The JavaScript side pads each sample's maps into the module's memory, calls one kernel per
// sample for every channel block, and copies the results out; the memory grows as a call needs.
import type { FloatArray } from '../autograd/tensor.ts';
import type { CorrelatePlan } from './conv2d-hex-kernels.ts';
import { CONV2D_HEX_WASM_BASE64 } from './conv2d-hex-wasm-bytes.ts';

// The tsconfig's lib (ES2022, no DOM) declares no WebAssembly values: type what is used here.
interface Memory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Memory: new (d: { initial: number; maximum?: number }) => Memory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { exports: Record<string, unknown> };
}
type Correlate = (xp: number, packed: number, bias: number, offs: number, out: number, blocks: number, ci: number, T: number, stride: number, ho: number, wo: number, wp: number) => void;
type WeightGrad = (xp: number, gt: number, acc: number, offs: number, blocks: number, ci: number, T: number, stride: number, ho: number, wo: number, wp: number) => void;

const PAGE = 65536;
/** The regions start past the first page (the module keeps no data of its own; a margin all the same). */
const BASE = PAGE;

/** The base64 decoder of RFC 4648's alphabet (atob is not in every JavaScript runtime's globals). */
export function decodeBase64(text: string): Uint8Array {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const clean = text.replace(/=+$/, '');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let j = 0;
  for (const ch of clean) {
    const d = alphabet.indexOf(ch);
    if (d < 0) throw new Error(`decodeBase64: '${ch}' is not a base64 digit`);
    value = (value << 6) | d;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[j++] = (value >> bits) & 0xff;
    }
  }
  return out;
}

export class Conv2dHexWasm {
  private readonly memory: Memory;
  private readonly correlate8: Correlate;
  private readonly correlate4: Correlate;
  private readonly weightGrad8: WeightGrad;
  private readonly weightGrad4: WeightGrad;

  constructor(api: WasmApi) {
    this.memory = new api.Memory({ initial: 2 });
    const instance = new api.Instance(new api.Module(decodeBase64(CONV2D_HEX_WASM_BASE64)), { env: { memory: this.memory } });
    const e = instance.exports;
    this.correlate8 = e.correlate8 as Correlate;
    this.correlate4 = e.correlate4 as Correlate;
    this.weightGrad8 = e.weightGrad8 as WeightGrad;
    this.weightGrad4 = e.weightGrad4 as WeightGrad;
  }

  /** Byte offsets of regions of the given sizes (in bytes, each rounded to 16), the memory grown to hold them. */
  private regions(sizes: readonly number[]): number[] {
    let at = BASE;
    const offsets = sizes.map((size) => {
      const o = at;
      at += Math.ceil(size / 16) * 16;
      return o;
    });
    const have = this.memory.buffer.byteLength;
    if (at > have) this.memory.grow(Math.ceil((at - have) / PAGE));
    return offsets;
  }

  private f64(offset: number, length: number): Float64Array {
    return new Float64Array(this.memory.buffer, offset, length);
  }

  /**
   * correlateSample for every sample: `pad(s, xp)` fills sample s's padded maps (ci, hp, wp);
   * out[(s, o, pixel)] for o < co receives bias + the correlation.
   */
  correlate(p: CorrelatePlan, packed: Float64Array, B: 4 | 8, bias: FloatArray | null, pad: (s: number, xp: Float64Array) => void, out: FloatArray): void {
    const { n, ci, co, hp, wp, ho, wo, offsets } = p;
    const T = offsets.length;
    const blocks = Math.ceil(co / B);
    const plane = ho * wo;
    const xpLen = ci * hp * wp;
    const [xpAt, wAt, bAt, offAt, outAt] = this.regions([xpLen * 8, packed.length * 8, blocks * B * 8, T * 4, blocks * B * plane * 8]);
    this.f64(wAt!, packed.length).set(packed);
    const b = this.f64(bAt!, blocks * B).fill(0);
    if (bias !== null) for (let o = 0; o < co; o++) b[o] = bias[o]!;
    new Int32Array(this.memory.buffer, offAt!, T).set(offsets);
    const xp = this.f64(xpAt!, xpLen);
    const res = this.f64(outAt!, co * plane);
    const kernel = B === 8 ? this.correlate8 : this.correlate4;
    for (let s = 0; s < n; s++) {
      pad(s, xp);
      kernel(xpAt!, wAt!, bAt!, offAt!, outAt!, blocks, ci, T, hp * wp, ho, wo, wp);
      out.set(res, s * co * plane);
    }
  }

  /**
   * weightGradSample for every sample (`pad(s, xp)`: sample s's padded input maps;
   * `transpose(s, gt)`: its output gradient, pixel-major, blocks * B channels). The sums in the
   * block layout ((block * ci + c) * T + t) * B + j.
   */
  weightGrad(p: CorrelatePlan, B: 4 | 8, pad: (s: number, xp: Float64Array) => void, transpose: (s: number, gt: Float64Array) => void): Float64Array {
    const { n, ci, co, hp, wp, ho, wo, offsets } = p;
    const T = offsets.length;
    const blocks = Math.ceil(co / B);
    const xpLen = ci * hp * wp;
    const gtLen = ho * wo * blocks * B;
    const accLen = blocks * ci * T * B;
    const [xpAt, gtAt, accAt, offAt] = this.regions([xpLen * 8, gtLen * 8, accLen * 8, T * 4]);
    new Int32Array(this.memory.buffer, offAt!, T).set(offsets);
    this.f64(accAt!, accLen).fill(0);
    const xp = this.f64(xpAt!, xpLen);
    const gt = this.f64(gtAt!, gtLen);
    const kernel = B === 8 ? this.weightGrad8 : this.weightGrad4;
    for (let s = 0; s < n; s++) {
      pad(s, xp);
      transpose(s, gt);
      kernel(xpAt!, gtAt!, accAt!, offAt!, blocks, ci, T, hp * wp, ho, wo, wp);
    }
    return this.f64(accAt!, accLen).slice();
  }
}

let instance: Conv2dHexWasm | null | undefined;
let enabled = true;
let failure: string | null = null;

/** The wasm kernels, instantiated on first use; null where they cannot run or are switched off. */
export function conv2dHexWasm(): Conv2dHexWasm | null {
  if (!enabled) return null;
  if (instance === undefined) {
    const api = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
    try {
      if (!api) throw new Error('no WebAssembly in this JavaScript runtime');
      instance = new Conv2dHexWasm(api);
    } catch (err) {
      failure = err instanceof Error ? err.message : String(err);
      instance = null;
    }
  }
  return instance;
}

/**
 * Which loops conv2dHex runs: 'wasm' (the default, where WebAssembly with SIMD runs) or 'js'
 * (the JavaScript loops). Both give the same bits; the switch exists for tests and benchmarks.
 */
export function setConv2dHexKernel(kind: 'wasm' | 'js'): void {
  enabled = kind === 'wasm';
}

/** The loops conv2dHex runs now, and why not wasm when it cannot. */
export function conv2dHexKernel(): { kind: 'wasm' | 'js'; reason?: string } {
  if (conv2dHexWasm() !== null) return { kind: 'wasm' };
  return { kind: 'js', reason: enabled ? `WebAssembly SIMD unavailable: ${failure}` : 'switched to js' };
}
