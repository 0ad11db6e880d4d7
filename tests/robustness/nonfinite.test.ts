// Regression suite: no NaN passes for a result (issue 12 items 7 and 8). Parameters that make
// the dynamics blow up stop the integration with a NonFiniteActivityError naming the phase,
// step, sample, node (cell type, u, v) and the parameter groups involved; `allowNonFinite: true`
// lets non-finite states through explicitly; movies are checked after the float32 conversion.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Tensor, mean, square, tensor, valueAndGrad } from '../../src/autograd/index.ts';
import { demoConnectome } from '../../src/graph/index.ts';
import { NonFiniteError } from '../../src/io/finite.ts';
import { Network, NetworkError, NonFiniteActivityError, type State } from '../../src/network/network.ts';
import { Stimulus, StimulusError } from '../../src/network/stimulus.ts';

const DT = 0.02;
const demo = () => Network.fromConnectome(demoConnectome(2));
const H = 19; // hexals at extent 2
const movie = (B: number, T: number, f: (i: number) => number = () => 0.5, Arr: typeof Float32Array | typeof Float64Array = Float32Array) => {
  const data = new Arr(B * T * H);
  for (let i = 0; i < data.length; i++) data[i] = f(i);
  return { data, shape: [B, T, 1, H] };
};
const nonFiniteCount = (t: Tensor) => Array.from(t.data).filter((x) => !Number.isFinite(x)).length;
type Categorical = { codes: Int32Array; categories: readonly string[] };

/** The error `fn` throws (failing the test when it throws none). */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error, got none');
}

/** A demo network whose every synapse strength (or count) is blown up, as by a bad checkpoint. */
function blownUp(param: 'edges_syn_strength' | 'edges_syn_count', value: number): Network {
  const net = demo();
  const p = net.parameters.byName.get(param)!;
  net.setParams({ [param]: tensor(new Float32Array(p.raw.length).fill(value)) });
  return net;
}

describe('parameters that make the dynamics blow up', () => {
  it('syn_strength 1e30: simulate throws, naming the steady-state step, node, cell type and the strength groups', () => {
    const net = blownUp('edges_syn_strength', 1e30);
    const e = thrown(() => net.simulate(movie(1, 5), DT));
    expect(e).toBeInstanceOf(NonFiniteActivityError);
    expect(e).toBeInstanceOf(NonFiniteError);
    const d = (e as NonFiniteActivityError).details;
    expect(d.phase).toBe('steady state');
    expect(d.steps).toBe(50);
    expect(d.step).toBeGreaterThanOrEqual(1);
    expect(d.step).toBeLessThanOrEqual(3);
    expect(d.time).toBeCloseTo(d.step * DT, 12);
    expect(d.variable).toBe('activity');
    expect(d.sample).toBe(0);
    expect(Number.isFinite(d.value)).toBe(false);
    // The node named is the first non-finite one, and its type and position are the connectome's.
    const types = net.connectome.nodes.columns.type as unknown as Categorical;
    expect(d.cellType).toBe(types.categories[types.codes[d.node]!]);
    expect(d.u).toBe((net.connectome.nodes.columns.u as Int32Array)[d.node]);
    expect(d.v).toBe((net.connectome.nodes.columns.v as Int32Array)[d.node]);
    expect(net.connectome.inputCellTypes).not.toContain(d.cellType); // photoreceptors get no synapses
    const msg = e.message;
    expect(msg.split('\n')).toHaveLength(1);
    expect(msg).toContain(`at step ${d.step} of 50 (t = ${Number((d.step * DT).toPrecision(6))} s) of the steady state, sample 0, node ${d.node}, cell type ${d.cellType}, u ${d.u}, v ${d.v}: activity = `);
    expect(msg).toContain(`nodes_bias['${d.cellType}'] = `);
    expect(msg).toContain(`nodes_time_const['${d.cellType}'] = `);
    expect(msg).toMatch(new RegExp(`incoming edges_syn_strength\\[\\('\\w+', '${d.cellType}'\\)\\] = 1e\\+30`));
    expect(msg).toContain('allowNonFinite: true');
    expect(d.parameters.some((p) => /^incoming edges_syn_strength/.test(p))).toBe(true);
    // The sign (fixed, magnitude 1) cannot blow anything up and is not listed.
    expect(msg).not.toContain('edges_sign');
  });

  it('the same parameters with allowNonFinite: true give the non-finite activity explicitly', () => {
    const net = blownUp('edges_syn_strength', 1e30);
    const a = net.simulate(movie(1, 5), DT, { allowNonFinite: true }) as Tensor;
    expect(a.shape).toEqual([1, 5, net.nNodes]);
    expect(nonFiniteCount(a)).toBeGreaterThan(net.nNodes);
    const s = net.steadyState(1, DT, 1, { allowNonFinite: true })!;
    expect(nonFiniteCount(s.nodes.activity!)).toBeGreaterThan(0);
  });

  it('syn_count 100 (Lognormal: exp(100) is beyond float32) is named as out of range', () => {
    const net = blownUp('edges_syn_count', 100);
    const e = thrown(() => net.steadyState(1, DT, 1)) as NonFiniteActivityError;
    expect(e).toBeInstanceOf(NonFiniteActivityError);
    expect(e.details.phase).toBe('steady state');
    expect(e.details.step).toBe(1);
    expect(e.message).toMatch(/non-finite or out-of-range parameters: edges_syn_count\[\('\w+', '\w+', -?\d+, -?\d+\)\] = 2\.68812e\+43/);
    expect(e.message).toMatch(/incoming edges_syn_count\[.*\] = 2\.68812e\+43/);
  });

  it('stimulusResponse and currentResponse raise too, unless allowed', () => {
    const net = blownUp('edges_syn_strength', 1e30);
    const dataset = { length: 1, get: () => ({ data: new Float32Array(3 * H).fill(1), shape: [3, H] }) };
    expect(() => [...net.stimulusResponse(dataset, DT, { tPre: 0.1 })]).toThrow(NonFiniteActivityError);
    expect(() => [...net.currentResponse(dataset, DT, { tPre: 0.1 })]).toThrow(NonFiniteActivityError);
    const [r] = [...net.stimulusResponse(dataset, DT, { tPre: 0.1, allowNonFinite: true })];
    expect(nonFiniteCount(r!.response)).toBeGreaterThan(0);
    const [c] = [...net.currentResponse(dataset, DT, { tPre: 0.1, allowNonFinite: true })];
    expect(nonFiniteCount(c!.activity)).toBeGreaterThan(0);
  });

  it('parameters given as tensors (as in training) that are NaN are listed first', () => {
    const net = demo();
    const bias = net.trainableParams().nodes_bias!;
    const data = bias.data.slice();
    const l1 = net.connectome.uniqueCellTypes.indexOf('L1');
    data[l1] = NaN;
    const e = thrown(() => net.steadyState(0.1, DT, 1, { params: { nodes_bias: tensor(data) } })) as NonFiniteActivityError;
    expect(e).toBeInstanceOf(NonFiniteActivityError);
    // v = bias: the initial state is already non-finite.
    expect(e.details.step).toBe(0);
    expect(e.details.cellType).toBe('L1');
    expect(e.message).toContain('in the initial state of the steady state');
    expect(e.message).toContain("non-finite or out-of-range parameters: nodes_bias['L1'] = NaN");
  });
});

describe('where the state first becomes non-finite', () => {
  it('a state hook that puts NaN into one node at step k is reported at step k, that sample, node, cell type and position', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 249 }), (k, b, node) => {
        const net = demo();
        let calls = 0;
        net.registerStateHook((s: State) => {
          if (calls++ !== k) return s;
          const a = s.nodes.activity!;
          const data = a.data.slice();
          data[b * net.nNodes + node] = NaN;
          return { nodes: { ...s.nodes, activity: new Tensor(data, a.shape) }, edges: s.edges };
        });
        // 20 steps: the state is checked every 8 steps, and the first non-finite one is found among them.
        const x = { data: new Float32Array(2 * 20 * net.nNodes).fill(0.5), shape: [2, 20, net.nNodes] };
        const e = thrown(() => net.forward(x, DT)) as NonFiniteActivityError;
        expect(e).toBeInstanceOf(NonFiniteActivityError);
        const types = net.connectome.nodes.columns.type as unknown as Categorical;
        expect(e.details).toMatchObject({
          phase: 'simulation',
          step: k,
          steps: 20,
          sample: b,
          node,
          cellType: types.categories[types.codes[node]!],
          u: (net.connectome.nodes.columns.u as Int32Array)[node],
          v: (net.connectome.nodes.columns.v as Int32Array)[node],
          count: 1,
        });
        expect(Number.isNaN(e.details.value)).toBe(true);
        expect(e.details.time).toBeCloseTo(k * DT, 12);
      }),
      { numRuns: 16 },
    );
  });

  it('a non-finite initial state is named as such', () => {
    const net = demo();
    const s = net.steadyState(0.1, DT, 1)!;
    const data = s.nodes.activity!.data.slice();
    data[7] = Infinity;
    const bad = { nodes: { ...s.nodes, activity: new Tensor(data, s.nodes.activity!.shape) }, edges: s.edges };
    const e = thrown(() => net.simulate(movie(1, 2), DT, { initialState: bad })) as NonFiniteActivityError;
    expect(e.details).toMatchObject({ phase: 'simulation', step: 0, node: 7, value: Infinity });
    expect(e.message).toContain('in the initial state of the simulation');
    expect(() => net.simulate(movie(1, 2), DT, { initialState: bad, allowNonFinite: true })).not.toThrow();
  });

  it('the check reads values only: gradients through simulate are unchanged, and a blow-up under valueAndGrad raises', () => {
    const net = demo();
    const m = movie(1, 4, (i) => (i % 3) / 2);
    const loss = (allow: boolean) => (p: Record<string, Tensor>) =>
      mean(square(net.simulate(m, DT, { params: p, grad: true, allowNonFinite: allow }) as Tensor));
    const checked = valueAndGrad(loss(false))(net.trainableParams());
    const unchecked = valueAndGrad(loss(true))(net.trainableParams());
    expect(checked.value.item()).toBe(unchecked.value.item());
    expect(Number.isFinite(checked.value.item())).toBe(true);
    for (const k of Object.keys(unchecked.grads)) {
      expect(Array.from(checked.grads[k]!.data)).toEqual(Array.from(unchecked.grads[k]!.data));
      expect(checked.grads[k]!.data.some((x) => x !== 0)).toBe(true);
    }
    const huge = net.trainableParams();
    huge.edges_syn_strength = tensor(new Float32Array(huge.edges_syn_strength!.size).fill(1e30));
    expect(() => valueAndGrad(loss(false))(huge)).toThrow(NonFiniteActivityError);
  });
});

describe('movies are checked after the conversion to float32', () => {
  it('a float64 movie value beyond float32 range is refused by simulate, naming sample, frame and hexal', () => {
    const net = demo();
    const m = movie(2, 3, (i) => (i === 1 * 3 * H + 2 * H + 5 ? 1e300 : 0.5), Float64Array);
    expect(() => net.simulate(m, DT)).toThrow(StimulusError);
    expect(() => net.simulate(m, DT)).toThrow(/^input: value 1e\+300 at sample 1, frame 2, hexal 5 is beyond float32 range/);
    // Just inside float32 range is accepted as input.
    const inRange = movie(1, 1, (i) => (i === 0 ? 3.4e38 : 0.5), Float64Array);
    expect(() => net.simulate(inRange, DT, { allowNonFinite: true })).not.toThrow();
  });

  it('Stimulus: NaN, beyond-range values and overflowing sums are refused and the buffer is reset', () => {
    const net = demo();
    const s = new Stimulus(net.connectome, 1, 2);
    expect(() => s.addInput(movie(1, 2, (i) => (i === 4 ? -1e39 : 0), Float64Array))).toThrow(
      /input: value -1e\+39 at sample 0, frame 0, hexal 4 is beyond float32 range/,
    );
    expect(s.call().data.every((x) => x === 0)).toBe(true);
    expect(() => s.addInput(movie(1, 2, (i) => (i === H ? NaN : 0)))).toThrow(/input: non-finite value NaN at sample 0, frame 1, hexal 0/);
    s.addInput(movie(1, 2, () => 3e38));
    expect(() => s.addInput(movie(1, 2, () => 3e38), { cumulate: true })).toThrow(/input: adding 3\.0*\d*e\+38 at sample 0, frame 0, hexal 0 to 3\.0*\d*e\+38 overflows float32/);
    expect(s.call().data.every((x) => x === 0)).toBe(true);
    expect(() => s.addPreStim(1e40)).toThrow(/beyond float32 range/);
  });

  it('forward input is checked per frame after the conversion to the state dtype', () => {
    const net = demo();
    const x = { data: new Float64Array(1 * 20 * net.nNodes).fill(0.5), shape: [1, 20, net.nNodes] };
    x.data[13 * net.nNodes + 9] = -1e300;
    const e = thrown(() => net.forward(x, DT));
    expect(e).toBeInstanceOf(NetworkError);
    expect(e.message).toMatch(/^simulation input: x\[0, 13, 9\] \(node 9, cell type \w+, u -?\d, v -?\d\) = -1e\+300 is beyond float32 range, expected finite input$/);
    expect(() => net.forward(x, DT, { allowNonFinite: true })).not.toThrow();
  });

  it('property: finite movies in float32 range never raise, and one bad value anywhere is refused at its place', () => {
    const net = demo();
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 }),
        fc.integer({ min: 1, max: 3 }),
        fc.nat(),
        fc.constantFrom(NaN, Infinity, -Infinity, 1e300, -4e38),
        (B, T, pos, badValue) => {
          const good = movie(B, T, (i) => ((i * 7919) % 101) / 100, Float64Array);
          const a = net.simulate(good, DT, { initialState: null }) as Tensor;
          expect(nonFiniteCount(a)).toBe(0);
          const i = pos % (B * T * H);
          const bad = { data: good.data.slice(), shape: good.shape };
          bad.data[i] = badValue;
          const where = `sample ${Math.floor(i / (T * H))}, frame ${Math.floor(i / H) % T}, hexal ${i % H}`;
          expect(() => net.simulate(bad, DT, { initialState: null })).toThrow(where);
        },
      ),
      { numRuns: 20 },
    );
  });
});
