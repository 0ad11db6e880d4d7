// A backend that reads back only asynchronously, as webgpu's does, made from js: the tests of
// the asynchronous path run with it where Dawn is absent (tests/backends/gpu-webgpu.test.ts and
// tests/backends/commands-webgpu.test.ts run webgpu itself).
import { BackendError, type FusedSimulator } from '../../src/backends/index.ts';
import type { Network } from '../../src/network/network.ts';

/**
 * Makes `net`'s fused simulators read back only asynchronously, as webgpu's do: the output's
 * read() and backward throw; readAsync and backwardAsync resolve later (a macrotask), to js's values.
 * Counts the calls of each.
 */
export function readBackAsynchronously(net: Network): { forward: number; backwardAsync: number } {
  const calls = { forward: 0, backwardAsync: 0 };
  const fused = net.backend.fused.bind(net.backend);
  const later = <T>(v: () => T): Promise<T> => new Promise((r) => setTimeout(() => r(v()), 0));
  (net.backend as { fused: typeof fused }).fused = (model) => {
    const sim = fused(model);
    if (sim === undefined) return undefined;
    const asyncSim: FusedSimulator = {
      model: sim.model,
      readBack: 'async',
      supports: (r) => r.dtype === 'float32' && sim.supports(r), // as webgpu's
      forward(r) {
        calls.forward++;
        const f = sim.forward(r);
        return {
          ...f,
          output: {
            shape: f.output.shape,
            dtype: f.output.dtype,
            read: () => {
              throw new BackendError('test backend: use readAsync');
            },
            readAsync: () => later(() => f.output.read()),
          },
        };
      },
      backward() {
        throw new BackendError('test backend: use backwardAsync');
      },
      backwardAsync(r, f, gOut, needs) {
        calls.backwardAsync++;
        return later(() => sim.backward(r, f, gOut, needs));
      },
    };
    return asyncSim;
  };
  return calls;
}
