// The case tests/browser/conv2d-hex-in-chromium.test.ts runs in Chromium and in Node: the flow
// decoder's first convolution on a small seeded batch (3 maps of 34 channels, 11 x 11, into 8
// channels, hex kernel 5, float32), forward and VJP at a seeded cotangent, on conv2dHex's wasm or
// js kernels. Imports only the platform-neutral core.
import { conv2dHex, hexKernelMask, mul, sum, tensor, valueAndGrad, type Tensor } from '../../src/core.ts';
import { conv2dHexKernel, setConv2dHexKernel } from '../../src/task/conv2d-hex-wasm.ts';

export const SHAPE = { n: 3, ci: 34, co: 8, h: 11, w: 11, k: 5 } as const;

/** mulberry32 uniforms in [-1, 1), float32. */
function uniforms(seed: number, n: number): Float32Array {
  let a = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  });
}

/** The inputs: x, weight, bias and the cotangent r. */
export function convInputs(): { x: Float32Array; w: Float32Array; b: Float32Array; r: Float32Array } {
  const { n, ci, co, h, w, k } = SHAPE;
  return { x: uniforms(1, n * ci * h * w), w: uniforms(2, co * ci * k * k), b: uniforms(3, co), r: uniforms(4, n * co * h * w) };
}

export interface ConvResult {
  /** The kernels that ran ('wasm' or 'js'). */
  readonly ran: string;
  readonly out: Float32Array;
  readonly gx: Float32Array;
  readonly gw: Float32Array;
  readonly gb: Float32Array;
}

/** conv2dHex forward and VJP on the asked kernels. */
export function runConv(kind: 'wasm' | 'js'): ConvResult {
  const { n, ci, co, h, w, k } = SHAPE;
  const inp = convInputs();
  setConv2dHexKernel(kind);
  try {
    const ran = conv2dHexKernel().kind;
    const r = tensor(inp.r, [n, co, h, w]);
    let out: Float32Array = new Float32Array(0);
    const { grads } = valueAndGrad((p: Tensor[]) => {
      const y = conv2dHex(p[0]!, p[1]!, p[2]!, { mask: hexKernelMask(k) });
      out = y.data as Float32Array;
      return sum(mul(y, r));
    })([tensor(inp.x, [n, ci, h, w]), tensor(inp.w, [co, ci, k, k]), tensor(inp.b, [co])]);
    return { ran, out, gx: grads[0]!.data as Float32Array, gw: grads[1]!.data as Float32Array, gb: grads[2]!.data as Float32Array };
  } finally {
    setConv2dHexKernel('wasm');
  }
}
