// conv2dHex at the flow decoder's training shapes: a batch of 4 x 40 frames at extent 15 is
// (160, 34, 31, 31) into 8 channels, then 8 into 3, hex kernel 5, float32. Milliseconds of the
// forward pass and of the VJP (input, weight and bias gradients) of each layer, through the op on
// its WebAssembly kernels (src/task/conv2d-hex-wasm.ts) and on its JavaScript ones
// (src/task/conv2d-hex-kernels.ts), and for the direct loops it had first
// (tests/task/conv2d-hex-reference.ts), alternated so that both see the same machine load;
// CPU milliseconds of this process (medians of the repeats), so that other processes' load
// on a shared machine counts less.
//
//   npx tsx bench/conv2d-hex.ts [--extent E] [--samples N] [--repeats R]
import { type Tensor, mul, noGrad, sum, tensor, valueAndGrad } from '../src/autograd/index.ts';
import { conv2dHex, hexKernelMask } from '../src/task/conv2d-hex.ts';
import { setConv2dHexKernel } from '../src/task/conv2d-hex-wasm.ts';
import { type ConvAttrs, referenceForward, referenceInputGrad, referenceWeightGrad } from '../tests/task/conv2d-hex-reference.ts';

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const extent = Number(arg('extent', '15'));
const n = Number(arg('samples', '160'));
const repeats = Number(arg('repeats', '3'));
const H = 2 * extent + 1;
const k = 5;
const mask = hexKernelMask(k);
let seed = 1;
const rand = (size: number): Float32Array => Float32Array.from({ length: size }, () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1);

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
// CPU time of this process (user + system), not wall time: the machine may be shared
const time = (f: () => void): number => {
  const t = process.cpuUsage();
  f();
  const d = process.cpuUsage(t);
  return (d.user + d.system) / 1000;
};

const layers = [
  { ci: 34, co: 8 },
  { ci: 8, co: 3 },
];
const result: Record<string, unknown>[] = [];
for (const { ci, co } of layers) {
  const x = tensor(rand(n * ci * H * H), [n, ci, H, H]);
  const w = tensor(rand(co * ci * k * k), [co, ci, k, k]);
  const b = tensor(rand(co), [co]);
  const r = tensor(rand(n * co * H * H), [n, co, H, H]);
  const allTaps = Int32Array.from({ length: k * k }, (_, i) => i);
  const a: ConvAttrs = { n, ci, h: H, w: H, co, k, pad: 2, ho: H, wo: H, taps: allTaps.filter((i) => mask[i] !== 0), allTaps, hasBias: true };
  const fast = { wasm: { forward: [] as number[], vjp: [] as number[] }, js: { forward: [] as number[], vjp: [] as number[] } };
  const ref = { forward: [] as number[], vjp: [] as number[] };
  for (let i = 0; i < repeats; i++) {
    for (const kind of ['wasm', 'js'] as const) {
      setConv2dHexKernel(kind);
      const f = fast[kind];
      f.forward.push(time(() => noGrad(() => conv2dHex(x, w, b))));
      // valueAndGrad runs the forward pass too: its time is subtracted
      const both = time(() => valueAndGrad((p: Tensor[]) => sum(mul(conv2dHex(p[0]!, p[1]!, p[2]!), r)))([x, w, b]));
      f.vjp.push(both - f.forward.at(-1)!);
    }
    setConv2dHexKernel('wasm');
    const out = new Float32Array(n * co * H * H);
    ref.forward.push(time(() => referenceForward(x.data, w.data, b.data, a, out)));
    ref.vjp.push(
      time(() => {
        referenceInputGrad(r.data, w.data, a, new Float32Array(x.size));
        referenceWeightGrad(r.data, x.data, a, new Float32Array(w.size), new Float32Array(co));
      }),
    );
  }
  const macs = n * ci * co * a.taps.length * H * H;
  result.push({
    layer: `${ci}->${co}`,
    shape: [n, ci, H, H],
    forward_mmac: Math.round(macs / 1e6),
    wasm_ms: { forward: Math.round(median(fast.wasm.forward)), vjp: Math.round(median(fast.wasm.vjp)) },
    js_ms: { forward: Math.round(median(fast.js.forward)), vjp: Math.round(median(fast.js.vjp)) },
    direct_ms: { forward: Math.round(median(ref.forward)), vjp: Math.round(median(ref.vjp)) },
  });
}
console.log(JSON.stringify({ extent, samples: n, repeats, layers: result }));
