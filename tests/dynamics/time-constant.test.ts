// Time constants at or below dt, as flyvis integrates them: PPNeuronIGRSynapses divides by
// max(time_const, dt), so any time constant <= dt (zero and negative ones included) acts as dt (the
// cell takes its input's value in one step) and gets no gradient, on the fused and the explicit
// Euler paths alike.
import { describe, expect, it } from 'vitest';
import { Tensor, mul, sum, tensor, valueAndGrad } from '../../src/autograd/index.ts';
import { demoConnectome } from '../../src/graph/index.ts';
import { Network } from '../../src/network/network.ts';

const DT = 0.02;
const connectome = demoConnectome(2);
const fused = Network.fromConnectome(connectome);
const explicit = Network.fromConnectome(connectome, {}, { explicitEuler: true });
const H = fused.stimulus.nInputElements;
const T = 8;
const movie = { data: Float32Array.from({ length: T * H }, (_, i) => ((i * 7) % 11) / 11), shape: [1, T, 1, H] };
const nTypes = connectome.uniqueCellTypes.length;
/** Time constants per type: the first four at or below dt, the rest flyvis's default 0.05. */
const below = [0, -0.3, DT / 2, DT];
const tauWith = (first: readonly number[]) => tensor(Float32Array.from({ length: nTypes }, (_, i) => first[i] ?? 0.05));
const run = (net: Network, tau: Tensor) =>
  (net.simulate(movie, DT, { params: { nodes_time_const: tau }, initialState: null }) as Tensor).data as Float32Array;

describe('time constants <= dt (flyvis: 1 / max(time_const, dt))', () => {
  it('act exactly as dt, on both integration paths', () => {
    const asDt = run(fused, tauWith([DT, DT, DT, DT]));
    expect(run(fused, tauWith(below))).toEqual(asDt);
    expect(Array.from(run(explicit, tauWith(below)), (x, i) => Math.abs(x - asDt[i]!)).every((d) => d <= 1e-6)).toBe(true);
    // ... and differ from the default, so the comparison above means something.
    const def = run(fused, tauWith([]));
    expect(Math.max(...Array.from(def, (x, i) => Math.abs(x - asDt[i]!)))).toBeGreaterThan(1e-3);
    // A cell whose time constant is <= dt follows bias + input in one step: with no synapses onto
    // it (an input cell of the demo receives only the movie), v(t + 1) = bias + x(t).
    const bias = fused.parameters.byName.get('nodes_bias')!.raw;
    const R1 = connectome.layerIndex.get('R1')!;
    const hasInput = new Set(connectome.edges.columns.target_index as Int32Array);
    expect(connectome.uniqueCellTypes[0]).toBe('R1');
    expect(R1.length).toBe(H);
    expect(R1.some((n) => hasInput.has(n))).toBe(false);
    const activity = run(fused, tauWith([0]));
    for (let t = 0; t < T; t++) {
      R1.forEach((n, h) => expect(activity[t * fused.nNodes + n]).toBeCloseTo(bias[0]! + movie.data[t * H + h]!, 6));
    }
  });

  it('get no gradient (training leaves them where they are), while time constants above dt do', () => {
    const w = tensor(Float32Array.from({ length: T * fused.nNodes }, (_, i) => ((i * 13) % 5) - 2), [1, T, fused.nNodes]);
    const tau = tauWith([0, -0.3, DT / 2]);
    const { grads } = valueAndGrad((p: Record<string, Tensor>) =>
      sum(mul(fused.simulate(movie, DT, { params: p, grad: true, initialState: null }) as Tensor, w)),
    )({ ...fused.trainableParams(), nodes_time_const: tau });
    const g = Array.from(grads.nodes_time_const!.data);
    expect(g.slice(0, 3)).toEqual([0, 0, 0]);
    expect(g.slice(3).filter((x) => x !== 0).length).toBeGreaterThan(nTypes / 2);
  });
});
