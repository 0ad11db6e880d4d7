// conv2dHex's blocked kernels (src/task/conv2d-hex-kernels.ts) against its first, direct loops
// (tests/task/conv2d-hex-reference.ts): forward, input, weight and bias gradients, bitwise, in
// float32 and float64, on random shapes (channel counts across the 4- and 8-wide blocks and their
// remainders; kernels 1 to 7; paddings from 0 to past k - 1, so the input gradient's padding is
// negative; hex, plain and random masks) and on the flow decoder's shapes. Finite differences of
// the same op are in property-tests/conv2d-hex.test.ts.
import { afterAll, describe, expect, it } from 'vitest';
import { type Tensor, mul, sum, tensor, valueAndGrad } from '../../src/autograd/index.ts';
import type { DType } from '../../src/autograd/tensor.ts';
import { conv2dHex, hexKernelMask } from '../../src/task/conv2d-hex.ts';
import { CONV2D_HEX_WASM_BASE64, CONV2D_HEX_WASM_KEY } from '../../src/task/conv2d-hex-wasm-bytes.ts';
import { ascCompiler, compileConv2dHexWasm, conv2dHexWasmKey } from '../../src/task/conv2d-hex-wasm-build.ts';
import { conv2dHexKernel, decodeBase64, setConv2dHexKernel } from '../../src/task/conv2d-hex-wasm.ts';
import { rng, uniform } from '../autograd/fd.ts';
import { type ConvAttrs, referenceForward, referenceInputGrad, referenceWeightGrad } from './conv2d-hex-reference.ts';

interface Case {
  n: number;
  ci: number;
  co: number;
  h: number;
  w: number;
  k: number;
  pad: number;
  mask: Uint8Array | null;
  bias: boolean;
}

const make = (next: () => number, shape: number[], dtype: DType): Tensor =>
  tensor(uniform(next, shape.reduce((a, d) => a * d, 1), -1, 1), shape, dtype);

/** Runs conv2dHex and its VJP at cotangent r, and the reference loops on the same values. */
function compare(c: Case, dtype: DType, seed: number): { checked: number } {
  const next = rng(seed);
  const x = make(next, [c.n, c.ci, c.h, c.w], dtype);
  const wt = make(next, [c.co, c.ci, c.k, c.k], dtype);
  const b = c.bias ? make(next, [c.co], dtype) : null;
  const ho = c.h + 2 * c.pad - c.k + 1;
  const wo = c.w + 2 * c.pad - c.k + 1;
  const r = make(next, [c.n, c.co, ho, wo], dtype);
  const opts = { padding: c.pad, mask: c.mask };
  let outData: ArrayLike<number> = [];
  const { grads } = valueAndGrad((p: Tensor[]) => {
    const out = conv2dHex(p[0]!, p[1]!, c.bias ? p[2]! : null, opts);
    outData = out.data;
    return sum(mul(out, r));
  })(c.bias ? [x, wt, b!] : [x, wt]);
  const allTaps = Int32Array.from({ length: c.k * c.k }, (_, i) => i);
  const taps = c.mask === null ? allTaps : allTaps.filter((i) => c.mask![i] !== 0);
  const a: ConvAttrs = { n: c.n, ci: c.ci, h: c.h, w: c.w, co: c.co, k: c.k, pad: c.pad, ho, wo, taps, allTaps, hasBias: c.bias };
  const alloc = (size: number) => (dtype === 'float32' ? new Float32Array(size) : new Float64Array(size));
  const out = alloc(c.n * c.co * ho * wo);
  referenceForward(x.data, wt.data, b === null ? null : b.data, a, out);
  const gx = alloc(x.size);
  referenceInputGrad(r.data, wt.data, a, gx);
  const gw = alloc(wt.size);
  const gb = c.bias ? alloc(c.co) : null;
  referenceWeightGrad(r.data, x.data, a, gw, gb);
  expect(outData).toEqual(out);
  expect(outData.constructor).toBe(out.constructor);
  expect(grads[0]!.data).toEqual(gx);
  expect(grads[1]!.data).toEqual(gw);
  if (gb !== null) expect(grads[2]!.data).toEqual(gb);
  return { checked: out.length + gx.length + gw.length };
}

function randomCase(next: () => number): Case {
  const int = (lo: number, hi: number): number => lo + Math.floor(next() * (hi - lo + 1));
  const k = [1, 3, 5, 7][int(0, 3)]!;
  // 0 .. k: past k - 1 the input gradient reads a cropped output gradient
  const pad = int(0, k);
  const min = Math.max(1, k - 2 * pad);
  const kind = int(0, 2);
  const mask = k === 1 || kind === 0 ? null : kind === 1 ? hexKernelMask(k) : Uint8Array.from({ length: k * k }, () => (next() < 0.6 ? 1 : 0));
  return { n: int(1, 3), ci: int(1, 19), co: int(1, 19), h: min + int(0, 6), w: min + int(0, 9), k, pad, mask, bias: next() < 0.7 };
}

afterAll(() => setConv2dHexKernel('wasm'));

for (const kind of ['wasm', 'js'] as const) {
  describe(`conv2dHex's ${kind} kernels = the direct loops, bitwise`, () => {
    it('runs the kernels it is switched to', () => {
      setConv2dHexKernel(kind);
      // Node 20 runs WebAssembly SIMD: the wasm kernels must not fall back here
      expect(conv2dHexKernel().kind).toBe(kind);
    });

    for (const dtype of ['float64', 'float32'] as const) {
      it(`${dtype}: 60 random shapes, masks and paddings; forward, input, weight and bias gradients`, () => {
        setConv2dHexKernel(kind);
        const next = rng(dtype === 'float64' ? 11 : 12);
        let checked = 0;
        const blocks = new Set<number>();
        for (let i = 0; i < 60; i++) {
          const c = randomCase(next);
          blocks.add(c.co % 8).add(c.ci % 8);
          checked += compare(c, dtype, 100 + i).checked;
        }
        // remainders of every block width were exercised
        expect(blocks.size).toBe(8);
        expect(checked).toBeGreaterThan(10_000);
      });
    }

    it("the flow decoder's shapes at extent 4: 34 types to 8 channels, 8 to 3, hex kernel 5, float32", () => {
      setConv2dHexKernel(kind);
      const mask = hexKernelMask(5);
      expect(compare({ n: 3, ci: 34, co: 8, h: 9, w: 9, k: 5, pad: 2, mask, bias: true }, 'float32', 7).checked).toBeGreaterThan(0);
      expect(compare({ n: 3, ci: 8, co: 3, h: 9, w: 9, k: 5, pad: 2, mask, bias: true }, 'float32', 8).checked).toBeGreaterThan(0);
    });

    it('a known value: each padded corner of a map of ones under a 3x3 kernel of ones (plain) sums 4 taps per channel', () => {
      setConv2dHexKernel(kind);
      const x = tensor(new Float32Array(1 * 2 * 3 * 4).fill(1), [1, 2, 3, 4]);
      const w = tensor(new Float32Array(9 * 2 * 3 * 3).fill(1), [9, 2, 3, 3]);
      const out = conv2dHex(x, w, null, { mask: null });
      expect(out.shape).toEqual([1, 9, 3, 4]);
      for (let o = 0; o < 9; o++) {
        expect([...out.data.subarray(o * 12, o * 12 + 12)]).toEqual([8, 12, 12, 8, 12, 18, 18, 12, 8, 12, 12, 8]);
      }
    });
  });
}

describe("conv2dHex's wasm module", () => {
  it('decodeBase64 is RFC 4648 (padding, every digit)', () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => (i * 37 + 11) & 0xff);
    for (const len of [0, 1, 2, 3, 4, 255, 256]) {
      expect(decodeBase64(Buffer.from(bytes.subarray(0, len)).toString('base64'))).toEqual(bytes.subarray(0, len));
    }
    expect(() => decodeBase64('AB*C')).toThrow(/'\*' is not a base64 digit/);
  });

  it('the embedded bytes are the current source compiled by the pinned assemblyscript', (ctx) => {
    const asc = ascCompiler();
    if (asc === null) {
      console.log('skipped: assemblyscript (a devDependency) is not installed, so the embedded module cannot be rebuilt to compare');
      ctx.skip();
      return;
    }
    const stale = 'src/task/conv2d-hex-wasm-bytes.ts is stale: run npx tsx src/task/conv2d-hex-wasm-build.ts';
    expect(CONV2D_HEX_WASM_KEY, stale).toBe(conv2dHexWasmKey(asc.version));
    expect(decodeBase64(CONV2D_HEX_WASM_BASE64), stale).toEqual(compileConv2dHexWasm().bytes);
  });
});
