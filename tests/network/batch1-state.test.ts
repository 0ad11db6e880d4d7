// A batch-1 starting state (the grey steady state) with a batch of movies runs on the backend's
// fused primitive (one simulation) and equals each sample simulated alone, gradients included.
import { describe, expect, it } from 'vitest';
import { Network, demoConnectome, graphStats, mul, sum, tensor, valueAndGrad } from '../../src/index.ts';

describe('stimulusResponse-style batches from a batch-1 state', () => {
  const net = Network.fromConnectome(demoConnectome(2), {}, { kernel: 'js' });
  const N = net.nNodes, T = 6, B = 3;
  const x = tensor(Float32Array.from({ length: B * T * N }, (_, i) => Math.sin(i * 0.37) * 0.5 + 0.5), [B, T, N]);
  const w = tensor(Float32Array.from({ length: B * T * N }, (_, i) => Math.cos(i * 0.11)), [B, T, N]);
  const grey = net.steadyState(0.2, 1 / 50, 1)!;

  it('equals per-sample simulations and is one simulate node on the tape', () => {
    const batch = net.forward(x, 1 / 50, { state: grey });
    for (let b = 0; b < B; b++) {
      const one = net.forward(tensor(x.data.slice(b * T * N, (b + 1) * T * N), [1, T, N]), 1 / 50, { state: grey });
      expect(Array.from(batch.data.subarray(b * T * N, (b + 1) * T * N))).toEqual(Array.from(one.data));
    }
    const ops: number[] = [];
    valueAndGrad((p: Record<string, ReturnType<typeof tensor>>) => {
      const out = net.forward(x, 1 / 50, { state: grey, params: p });
      ops.push(graphStats(out).ops);
      return sum(mul(out, w));
    })(net.trainableParams());
    // fused: the scan node plus the few ops deriving its inputs, not T x (ops per step)
    expect(ops[0]!).toBeLessThan(T * 3);
  });

  it('gradients with respect to the shared start sum over the samples', () => {
    const f = valueAndGrad((v: ReturnType<typeof tensor>) => sum(mul(net.forward(x, 1 / 50, { state: { nodes: { activity: v }, edges: {} } }), w)));
    const g = f(grey.nodes.activity!).grads.data;
    let acc = new Float64Array(N);
    for (let b = 0; b < B; b++) {
      const xb = tensor(x.data.slice(b * T * N, (b + 1) * T * N), [1, T, N]);
      const wb = tensor(w.data.slice(b * T * N, (b + 1) * T * N), [1, T, N]);
      const gb = valueAndGrad((v: ReturnType<typeof tensor>) => sum(mul(net.forward(xb, 1 / 50, { state: { nodes: { activity: v }, edges: {} } }), wb)))(grey.nodes.activity!).grads.data;
      acc = acc.map((a, i) => a + gb[i]!);
    }
    for (let i = 0; i < N; i++) expect(g[i]!).toBeCloseTo(acc[i]!, 4);
  });
});
