// flyvis's DecoderGAVP here: the architecture and state_dict names its code gives (flyvis/task/
// decoder.py) for the flow config and its variants, flyvis's initialisation, config checks,
// state_dict loading and saving, evaluation and training modes, and the gradient of a flow loss
// through decoder and network against finite differences (float64, flyvis's connectome at
// extent 1, where all 34 output types exist).
import { describe, expect, it } from 'vitest';
import { type Tensor, noGrad, tensor, valueAndGrad } from '../../src/autograd/index.ts';
import { ConnectomeFromAvgFilters } from '../../src/graph/index.ts';
import { TorchTensor } from '../../src/io/torch/values.ts';
import { Network } from '../../src/network/network.ts';
import {
  DecoderError, FLOW_DECODER_CONFIG, decode, decoderConfigFrom, decoderGAVP, decoderParamsFromStateDict, decoderStateDict, decoderTrainable,
  filterToHex, flowDecoderConfigOf, hexKernelMask, initDecoder, initDecoderParams, l2norm,
} from '../../src/task/index.ts';
import { rng as seeded, uniform } from '../autograd/fd.ts';

const flyvis1 = ConnectomeFromAvgFilters('fib25-fib19_v2.2.json', 1);
const shapes = (d: { stateShapes: ReadonlyMap<string, readonly number[]> }) => [...d.stateShapes].map(([n, s]) => [n, [...s]]);

describe('architecture and state_dict names (flyvis/task/decoder.py)', () => {
  it("the flow decoder: flyvis's checkpoint entries, in torch's order", () => {
    const d = decoderGAVP(FLOW_DECODER_CONFIG, flyvis1);
    // as in every published best_chkpt's decoder.flow
    expect(shapes(d)).toEqual([
      ['base.0.weight', [8, 34, 5, 5]], ['base.0.bias', [8]],
      ['base.1.weight', [8]], ['base.1.bias', [8]], ['base.1.running_mean', [8]], ['base.1.running_var', [8]], ['base.1.num_batches_tracked', []],
      ['decoder.0.weight', [3, 8, 5, 5]], ['decoder.0.bias', [3]],
    ]);
    expect(d.layers.map((l) => `${l.name}:${l.kind}`)).toEqual(['base.0:conv', 'base.1:batchnorm', 'base.2:activation', 'base.3:dropout', 'decoder.0:conv']);
    expect(d.parameterNames).toEqual(['base.0.weight', 'base.0.bias', 'base.1.weight', 'base.1.bias', 'decoder.0.weight', 'decoder.0.bias']);
    expect(d.outChannels).toBe(2);
    expect(d.geometry.cellTypes).toEqual(flyvis1.outputCellTypes);
    expect([d.geometry.extent, d.geometry.H, d.geometry.W, d.geometry.nHexals]).toEqual([1, 3, 3, 7]);
    // hexal i of get_hex_coords(1) at map cell (u + 1, v + 1)
    expect([...d.geometry.u]).toEqual([0, 0, 1, 1, 1, 2, 2]);
    expect([...d.geometry.v]).toEqual([1, 2, 0, 1, 2, 0, 1]);
  });

  it('variants: skipped zero layers, no dropout, no batch norm, batch norm in front of a lone decoder, pooled features', () => {
    const names = (config: Record<string, unknown>) => [...decoderGAVP({ type: 'DecoderGAVP', kernel_size: 3, ...config }, flyvis1).stateShapes.keys()];
    // shape [8, 0, 4, 2]: the 0 is skipped; each hidden layer is conv, bn, activation, dropout
    expect(names({ shape: [8, 0, 4, 2] })).toEqual([
      ...['weight', 'bias'].map((s) => `base.0.${s}`), ...['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'].map((s) => `base.1.${s}`),
      ...['weight', 'bias'].map((s) => `base.4.${s}`), ...['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'].map((s) => `base.5.${s}`),
      'decoder.0.weight', 'decoder.0.bias',
    ]);
    expect(names({ shape: [8, 4, 2], p_dropout: 0 })).toContain('base.3.weight');
    expect(names({ shape: [8, 2], batch_norm: false })).toEqual(['base.0.weight', 'base.0.bias', 'decoder.0.weight', 'decoder.0.bias']);
    expect(names({ shape: [2] })).toEqual([...['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'].map((s) => `decoder.0.${s}`), 'decoder.1.weight', 'decoder.1.bias']);
    const pooled = decoderGAVP({ type: 'DecoderGAVP', shape: [8, 3], kernel_size: 5, n_out_features: 2 }, flyvis1);
    expect(pooled.stateShapes.get('decoder.0.weight')).toEqual([7, 8, 5, 5]); // 3 * 2 + the normalising channel
    const plain = decoderGAVP({ type: 'DecoderGAVP', shape: [8, 2], kernel_size: 5, normalize_last: false }, flyvis1);
    expect(plain.stateShapes.get('decoder.0.weight')).toEqual([2, 8, 5, 5]);
  });

  it('config checks name the field; the flow config of 1.x and 0.1 run configs', () => {
    expect(() => decoderConfigFrom({ ...FLOW_DECODER_CONFIG, kernel_size: 4 }, 'task.decoder.flow')).toThrow(/task\.decoder\.flow: kernel_size: 4 is even\. Must be odd\./);
    expect(() => decoderConfigFrom({ ...FLOW_DECODER_CONFIG, type: 'DecoderX' })).toThrow(/type: expected 'DecoderGAVP'/);
    expect(() => decoderConfigFrom({ ...FLOW_DECODER_CONFIG, kernel: 5 })).toThrow(/kernel: not an argument of DecoderGAVP/);
    expect(() => decoderConfigFrom({ ...FLOW_DECODER_CONFIG, shape: [] })).toThrow(/shape: expected a list/);
    expect(() => decoderConfigFrom({ ...FLOW_DECODER_CONFIG, p_dropout: 1.5 })).toThrow(/p_dropout/);
    expect(() => decoderConfigFrom({ ...FLOW_DECODER_CONFIG, activation: 'GELU' })).toThrow(/activation: expected one of Softplus/);
    expect(decoderConfigFrom(FLOW_DECODER_CONFIG)).toEqual({
      type: 'DecoderGAVP', shape: [8, 2], kernel_size: 5, p_dropout: 0.5, batch_norm: true, n_out_features: null, const_weight: 0.001, normalize_last: true, activation: 'Softplus',
    });
    expect(flowDecoderConfigOf({ task: { decoder: { flow: { a: 1 } } } })).toEqual({ a: 1 });
    expect(flowDecoderConfigOf({ task_decoder: { b: 2 } })).toEqual({ b: 2 });
    expect(flowDecoderConfigOf({ network: {} })).toBeUndefined();
  });
});

describe('initialisation (Conv2dConstWeight, Conv2dHexSpace, BatchNorm2d)', () => {
  it('const_weight fills weights and biases, then the hex mask zeroes the kernel corners', () => {
    const { decoder, params } = initDecoder(FLOW_DECODER_CONFIG, flyvis1);
    const mask = hexKernelMask(5);
    const w = params['base.0.weight']!;
    expect(w.dtype).toBe('float32');
    for (let i = 0; i < w.size; i++) expect(w.data[i]).toBe(mask[i % 25] ? Math.fround(0.001) : 0);
    expect([...params['decoder.0.bias']!.data]).toEqual([0.001, 0.001, 0.001].map(Math.fround));
    expect([...params['base.1.weight']!.data]).toEqual(Array(8).fill(1));
    expect([...params['base.1.bias']!.data]).toEqual(Array(8).fill(0));
    expect([...params['base.1.running_mean']!.data]).toEqual(Array(8).fill(0));
    expect([...params['base.1.running_var']!.data]).toEqual(Array(8).fill(1));
    expect(params['base.1.num_batches_tracked']!.item()).toBe(0);
    expect(Object.keys(params)).toEqual([...decoder.stateShapes.keys()]);
  });

  it("const_weight null: torch's default bounds, +-1 / sqrt(fan_in), from the given generator", () => {
    const d = decoderGAVP({ ...FLOW_DECODER_CONFIG, const_weight: null }, flyvis1);
    const p = initDecoderParams(d, { rng: seeded(3), dtype: 'float64' });
    const bound = 1 / Math.sqrt(34 * 25);
    const w = p['base.0.weight']!;
    expect(w.dtype).toBe('float64');
    expect(Math.max(...w.data.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...w.data.map(Math.abs))).toBeGreaterThan(0.9 * bound);
    expect(Math.max(...p['decoder.0.bias']!.data.map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(8 * 25));
    expect([...initDecoderParams(d, { rng: seeded(3), dtype: 'float64' })['base.0.weight']!.data]).toEqual([...w.data]);
  });
});

describe('state_dicts', () => {
  const decoder = decoderGAVP(FLOW_DECODER_CONFIG, flyvis1);
  const params = initDecoderParams(decoderGAVP({ ...FLOW_DECODER_CONFIG, const_weight: null }, flyvis1), { rng: seeded(1) });

  it('save and load round trip, num_batches_tracked as int64', () => {
    const sd = decoderStateDict(decoder, { ...params, 'base.1.num_batches_tracked': tensor([232080], [], 'float64') });
    expect(sd.ordered).toBe(true);
    expect([...sd.keys()]).toEqual([...decoder.stateShapes.keys()]);
    const nbt = sd.get('base.1.num_batches_tracked') as TorchTensor;
    expect(nbt.dtype).toBe('int64');
    expect(nbt.data[0]).toBe(232080n);
    const back = decoderParamsFromStateDict(decoder, sd);
    for (const name of decoder.stateShapes.keys()) {
      expect([...back[name]!.data], name).toEqual(name.endsWith('num_batches_tracked') ? [232080] : [...params[name]!.data]);
    }
  });

  it("refuses what torch's load_state_dict(strict=True) refuses, and non-finite values, naming every problem", () => {
    const sd = decoderStateDict(decoder, params);
    const without = new Map(sd);
    without.delete('base.0.bias');
    without.set('base.9.weight', sd.get('base.0.bias')!);
    expect(() => decoderParamsFromStateDict(decoder, without, { where: 'x.pt: decoder.flow' })).toThrow(
      /^x\.pt: decoder\.flow: missing key\(s\) "base\.0\.bias"; unexpected key\(s\) "base\.9\.weight"$/,
    );
    const other = decoderStateDict(decoderGAVP({ ...FLOW_DECODER_CONFIG, shape: [4, 2] }, flyvis1), initDecoderParams(decoderGAVP({ ...FLOW_DECODER_CONFIG, shape: [4, 2] }, flyvis1)));
    expect(() => decoderParamsFromStateDict(decoder, other)).toThrow(/size mismatch for base\.0\.weight: the state_dict has shape \[4, 34, 5, 5\], the decoder \[8, 34, 5, 5\]/);
    const bad = new Map(sd);
    bad.set('base.0.bias', new TorchTensor('float32', [8], Float32Array.of(0, 0, NaN, 0, 0, 0, 0, 0)));
    bad.set('base.1.weight', new TorchTensor('int32', [8], new Int32Array(8)));
    expect(() => decoderParamsFromStateDict(decoder, bad)).toThrow(/base\.0\.bias: non-finite value NaN at element 2; base\.1\.weight: expected floating point values, got int32/);
  });
});

describe('decode', () => {
  const net = Network.fromConnectome(flyvis1);
  const N = net.nNodes;
  const decoder = decoderGAVP({ ...FLOW_DECODER_CONFIG, const_weight: null }, flyvis1);
  const params = initDecoderParams(decoder, { rng: seeded(11) });
  const [S, F] = [2, 3];
  const activity = tensor(Float32Array.from(uniform(seeded(5), S * F * N, -1, 2)), [S, F, N]);

  it('evaluation: (samples, frames, 2, hexals), each frame on its own, from the rectified output types only, no buffers', () => {
    const { output, buffers } = decode(decoder, params, activity);
    expect(output.shape).toEqual([S, F, 2, 7]);
    expect(buffers).toEqual({});
    // one frame alone gives the same values (evaluation mode couples no frames)
    const one = tensor(activity.data.slice((1 * F + 2) * N, (1 * F + 3) * N), [1, 1, N]);
    expect([...decode(decoder, params, one).output.data]).toEqual([...output.data.slice((1 * F + 2) * 14, (1 * F + 3) * 14)]);
    // other cell types, and negative values of the output types, do not matter
    const outputs = new Set(flyvis1.outputCellTypes.flatMap((t) => [...flyvis1.layerIndex.get(t)!]));
    const changed = Float32Array.from(activity.data, (v, i) => (!outputs.has(i % N) ? v + 3 : v < 0 ? -7 : v));
    expect([...decode(decoder, params, tensor(changed, [S, F, N])).output.data]).toEqual([...output.data]);
    expect(() => decode(decoder, params, tensor(new Float32Array(N), [N]))).toThrow(DecoderError);
    expect(() => decode(decoder, params, tensor(new Float64Array(N), [1, 1, N], 'float64'))).toThrow(/activity is float64 but decoder parameter 'base\.0\.weight' is float32/);
  });

  it('masked kernel entries change nothing; filterToHex zeroes them', () => {
    const noisy = { ...params, 'base.0.weight': tensor(Float32Array.from(params['base.0.weight']!.data, (v, i) => (hexKernelMask(5)[i % 25] ? v : 9)), [8, 34, 5, 5]) };
    expect([...decode(decoder, noisy, activity).output.data]).toEqual([...decode(decoder, params, activity).output.data]);
    const filtered = filterToHex(decoder, noisy)['base.0.weight']!;
    // (as torch's in-place mul_: a negative weight times 0 is -0, hence == rather than toEqual)
    expect(filtered.data.every((v, i) => v === params['base.0.weight']!.data[i])).toBe(true);
    expect(filtered.data.filter((v, i) => !hexKernelMask(5)[i % 25] && v !== 0)).toHaveLength(0);
  });

  it('training: batch statistics, running averages returned (not written), dropout from the generator', () => {
    const before = Float32Array.from(params['base.1.running_mean']!.data);
    const r = decode(decoder, params, activity, { training: true, rng: () => 0.7 });
    expect(Object.keys(r.buffers).sort()).toEqual(['base.1.num_batches_tracked', 'base.1.running_mean', 'base.1.running_var']);
    expect(r.buffers['base.1.num_batches_tracked']!.item()).toBe(1);
    expect([...params['base.1.running_mean']!.data]).toEqual([...before]);
    expect(r.buffers['base.1.running_mean']!.data.some((v) => v !== 0)).toBe(true);
    expect([...r.output.data]).not.toEqual([...decode(decoder, params, activity).output.data]);
    // every unit dropped (rng below p): the decoder sees zeros and outputs its bias everywhere
    const dropped = decode(decoder, params, activity, { training: true, rng: () => 0.1 }).output;
    const b = params['decoder.0.bias']!.data;
    const den = Math.log1p(Math.exp(b[2]!)) + 1;
    for (let i = 0; i < dropped.size; i++) expect(dropped.data[i]).toBeCloseTo(b[Math.floor(i / 7) % 2]! / den, 6);
  });

  it('pooled features (n_out_features): the mean over hexals, (samples, frames, shape[-1], n_out_features)', () => {
    const pooled = initDecoder({ ...FLOW_DECODER_CONFIG, const_weight: null, shape: [8, 3], n_out_features: 2 }, flyvis1, { rng: seeded(2) });
    const out = decode(pooled.decoder, pooled.params, activity).output;
    expect(out.shape).toEqual([S, F, 3, 2]);
    const raw = decode({ ...pooled.decoder, config: { ...pooled.decoder.config, n_out_features: null } }, pooled.params, activity).output; // (S, F, 6, hexals)
    for (let q = 0; q < S * F * 6; q++) {
      const m = Array.from(raw.data.subarray(q * 7, q * 7 + 7)).reduce((a, v) => a + v, 0) / 7;
      expect(out.data[q]).toBeCloseTo(m, 6);
    }
  });
});

describe('gradients through decoder and network', () => {
  it('l2norm of the decoded flow (training mode, fixed dropout mask): valueAndGrad = finite differences, float64', () => {
    const net = Network.fromConnectome(flyvis1);
    const H = net.stimulus.nInputElements;
    const N = net.nNodes;
    const [S, F, dt] = [2, 3, 0.02];
    const movie = { data: Float32Array.from({ length: S * F * H }, (_, i) => 0.5 + 0.4 * Math.sin(i * 0.7)), shape: [S, F, 1, H] };
    const decoder = decoderGAVP({ ...FLOW_DECODER_CONFIG, const_weight: null }, flyvis1);
    const dec64 = initDecoderParams(decoder, { rng: seeded(4), dtype: 'float64' });
    const netParams = Object.fromEntries(Object.entries(net.trainableParams()).map(([k, t]) => [k, tensor(t.data, t.shape, 'float64')]));
    const target = tensor(uniform(seeded(9), S * F * 2 * 7, -0.5, 0.5), [S, F, 2, 7], 'float64');
    const uniforms = uniform(seeded(21), S * F * 8 * 9, 0, 1);
    const loss = (p: { net: Record<string, Tensor>; dec: Record<string, Tensor> }): Tensor => {
      let i = 0;
      const state = net.steadyState(0.06, dt, S, { grad: true, params: p.net });
      const activity = net.simulate(movie, dt, { params: p.net, grad: true, initialState: state }) as Tensor;
      expect(activity.shape).toEqual([S, F, N]);
      return l2norm(decode(decoder, { ...dec64, ...p.dec }, activity, { training: true, rng: () => uniforms[i++]! }).output, target);
    };
    const p = { net: netParams, dec: decoderTrainable(decoder, dec64) };
    const { grads } = valueAndGrad(loss)(p);
    const fd = (group: 'net' | 'dec', name: string, i: number, h = 1e-6): number => {
      const at = (d: number) => {
        const data = Float64Array.from(p[group][name]!.data);
        data[i]! += d;
        return noGrad(() => loss({ ...p, [group]: { ...p[group], [name]: tensor(data, p[group][name]!.shape, 'float64') } })).item();
      };
      return (at(h) - at(-h)) / (2 * h);
    };
    const checks: [('net' | 'dec'), string, number][] = [
      ['net', 'nodes_bias', 3], ['net', 'nodes_time_const', 40], ['net', 'edges_syn_strength', 2],
      ['dec', 'base.0.weight', 2 * 25 + 12], ['dec', 'base.0.bias', 1], ['dec', 'base.1.weight', 5], ['dec', 'base.1.bias', 0],
      ['dec', 'decoder.0.weight', 25 * 9 + 7], ['dec', 'decoder.0.bias', 2],
    ];
    let nonzero = 0;
    for (const [group, name, i] of checks) {
      const numeric = fd(group, name, i);
      const analytic = grads[group][name]!.data[i]!;
      if (Math.abs(numeric) > 1e-6) nonzero++;
      expect(Math.abs(analytic - numeric), `${group} ${name}[${i}]: ${analytic} vs ${numeric}`).toBeLessThan(1e-6 + 1e-5 * Math.abs(numeric));
    }
    expect(nonzero).toBeGreaterThanOrEqual(checks.length - 1); // base.0.bias before batch norm: 0
  });
});
