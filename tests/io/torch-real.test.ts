// The torch file reader on flyvis's published checkpoints (../shared/flyvis/pretrained-v0.1.0:
// 50 networks, torch.save from cuda:0, archive prefix 'archive/') and on the 1.x-layout tree
// ../shared/golden/results-v1 (written by torch 1.13, prefix = file stem). Skipped, with a
// printed reason, where ../shared is absent. Reference values come from
// ../shared/notes/torch/pt_reader.py (checked against torch.load) and the READMEs there.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  TorchDict,
  TorchTensor,
  loadTorchFile,
  readTorchFile,
  stateDictFromTorch,
  writeTorchFile,
  type TorchValue,
} from '../../src/io/torch/index.ts';
import { readZip } from '../../src/io/torch/zip.ts';
import { sharedPath } from '../helpers/shared.ts';

const PRETRAINED = sharedPath('flyvis', 'pretrained-v0.1.0', 'opticflow', '000');
const RESULTS = sharedPath('golden', 'results-v1', 'flow', '0000');
const hasPretrained = existsSync(`${PRETRAINED}/0000/best_chkpt`);
const hasResults = existsSync(`${RESULTS}/000/chkpts/chkpt_00000`);
if (!hasPretrained) console.warn(`[torch-real] skipping flyvis v0.1.0 checkpoints: ${PRETRAINED} is absent`);
if (!hasResults) console.warn(`[torch-real] skipping the 1.x results tree: ${RESULTS} is absent`);

const ids = Array.from({ length: 50 }, (_, i) => String(i).padStart(4, '0'));
const bestChkpt = (id: string): string => `${PRETRAINED}/${id}/best_chkpt`;

const NETWORK_SHAPES = {
  nodes_bias: [65],
  nodes_time_const: [65],
  edges_sign: [604],
  edges_syn_count: [2355],
  edges_syn_strength: [604],
};
const DECODER_SHAPES = {
  'base.0.weight': [8, 34, 5, 5],
  'base.0.bias': [8],
  'base.1.weight': [8],
  'base.1.bias': [8],
  'base.1.running_mean': [8],
  'base.1.running_var': [8],
  'base.1.num_batches_tracked': [],
  'decoder.0.weight': [3, 8, 5, 5],
  'decoder.0.bias': [3],
};

const dict = (v: unknown, key: string): TorchDict => {
  const x = (v as TorchDict).get(key);
  expect(x).toBeInstanceOf(TorchDict);
  return x as TorchDict;
};
const tensor = (v: TorchDict, key: string): TorchTensor => {
  const x = v.get(key);
  expect(x).toBeInstanceOf(TorchTensor);
  return x as TorchTensor;
};
/** `v` with every tensor's device set to 'cpu' (what the writer records). */
function onCpu(v: TorchValue): TorchValue {
  if (v instanceof TorchTensor) return new TorchTensor(v.dtype, v.shape, v.data, { ...v, device: 'cpu' });
  if (Array.isArray(v)) return v.map(onCpu);
  if (v instanceof TorchDict) {
    const d = new TorchDict([...v].map(([k, x]) => [k, onCpu(x)] as const), v.ordered);
    d.attributes = v.attributes === undefined ? undefined : onCpu(v.attributes);
    return d;
  }
  return v;
}

const sum = (a: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
};

describe.skipIf(!hasPretrained)("flyvis's v0.1.0 trained networks", () => {
  it('network 0000 holds the values torch.load gives', () => {
    const v = loadTorchFile(bestChkpt('0000')) as TorchDict;
    expect([...v.keys()]).toEqual(['network', 'decoder', 'validation_loss']);
    expect(v.get('validation_loss')).toBe(5.136557112137477); // a numpy float64
    const net = dict(v, 'network');
    expect(net.ordered).toBe(true);
    const bias = tensor(net, 'nodes_bias');
    expect(Array.from((bias.data as Float32Array).subarray(0, 3))).toEqual([0.4442286491394043, 0.47239699959754944, 0.2865675687789917]);
    expect(bias.data[64]).toBe(0.49917635321617126);
    expect(bias.device).toBe('cuda:0');
    // float64 sums in file order, as pt_reader.py computes them
    expect(sum(bias.data as Float32Array)).toBe(33.3685809946619);
    expect(sum(tensor(net, 'nodes_time_const').data as Float32Array)).toBe(2.918930299580097);
    expect(sum(tensor(net, 'edges_sign').data as Float32Array)).toBe(148);
    expect(sum(tensor(net, 'edges_syn_count').data as Float32Array)).toBe(1509.0034253111808);
    expect(sum(tensor(net, 'edges_syn_strength').data as Float32Array)).toBe(22.835869116719213);
    const flow = dict(dict(v, 'decoder'), 'flow');
    expect(Array.from((tensor(flow, 'base.0.bias').data as Float32Array).subarray(0, 1))).toEqual([-0.007250863593071699]);
    expect(Array.from(tensor(flow, 'decoder.0.bias').data as Float32Array)).toEqual([0.02869599312543869, expect.any(Number), 0.8478461503982544]);
    const tracked = tensor(flow, 'base.1.num_batches_tracked');
    expect(tracked.dtype).toBe('int64');
    expect(tracked.shape).toEqual([]);
    expect(Array.from(tracked.data as BigInt64Array)).toEqual([232080n]);
    // The state_dict's _metadata (an OrderedDict attribute) is kept.
    expect(net.attributes).toBeInstanceOf(TorchDict);
    expect((net.attributes as TorchDict).has('_metadata')).toBe(true);
  });

  it('all 50 hold the documented keys, shapes and dtypes; sign and syn_count equal across the ensemble', () => {
    let first: Record<string, Float32Array> | undefined;
    const biases = new Set<number>();
    for (const id of ids) {
      const v = loadTorchFile(bestChkpt(id)) as TorchDict;
      expect([...v.keys()]).toEqual(['network', 'decoder', 'validation_loss']);
      const loss = v.get('validation_loss');
      expect(typeof loss === 'number' && Number.isFinite(loss) && loss > 0).toBe(true);
      const net = dict(v, 'network');
      expect(Object.fromEntries([...net].map(([k, t]) => [k, (t as TorchTensor).shape]))).toEqual(NETWORK_SHAPES);
      const flow = dict(dict(v, 'decoder'), 'flow');
      expect(Object.fromEntries([...flow].map(([k, t]) => [k, (t as TorchTensor).shape]))).toEqual(DECODER_SHAPES);
      for (const [k, t] of [...net, ...flow]) {
        expect((t as TorchTensor).dtype).toBe(k === 'base.1.num_batches_tracked' ? 'int64' : 'float32');
        expect((t as TorchTensor).device).toBe('cuda:0');
      }
      const sd = stateDictFromTorch(v, bestChkpt(id));
      expect(Object.keys(sd)).toEqual(Object.keys(NETWORK_SHAPES));
      expect(Array.from(sd.edges_sign!).every((s) => s === 1 || s === -1)).toBe(true);
      expect(Array.from(sd.nodes_time_const!).every((t) => t > 0 && Number.isFinite(t))).toBe(true);
      first ??= sd;
      expect(sd.edges_sign).toEqual(first.edges_sign);
      expect(sd.edges_syn_count).toEqual(first.edges_syn_count);
      biases.add(sd.nodes_bias![0]!);
    }
    expect(biases.size).toBe(50); // trained parameters differ between networks
  });

  it('records data 64-byte aligned under the archive/ prefix, as torch writes', () => {
    const entries = readZip(readFileSync(bestChkpt('0007')), 'best_chkpt');
    expect(entries.map((e) => e.name).slice(0, 3)).toEqual(['archive/data.pkl', 'archive/data/0', 'archive/data/1']);
    expect(entries.every((e) => e.dataOffset % 64 === 0)).toBe(true);
  });

  it('writes a checkpoint back that reads as the same value (tensors now on the cpu)', () => {
    const v = loadTorchFile(bestChkpt('0003'));
    const back = readTorchFile(writeTorchFile(v), 'rewritten');
    expect(back).toEqual(onCpu(v));
    expect(back).not.toEqual(v); // the device is recorded: cuda:0 was read
  });
});

describe.skipIf(!hasResults || !hasPretrained)("the 1.x results tree (chkpt_NNNNN, prefix = the file's stem)", () => {
  const cases = [
    ['000/chkpts/chkpt_00000', '0001', 0.6, 0n],
    ['000/chkpts/chkpt_00001', '0002', 0.4, 1000n],
    ['001/chkpts/chkpt_00000', '0003', 0.3, 0n],
    ['001/chkpts/chkpt_00001', '0004', 0.5, 1000n],
  ] as const;
  for (const [file, source, valLoss, iteration] of cases) {
    it(`${file} holds network ${source}'s parameters and the 1.x entries`, () => {
      const v = loadTorchFile(`${RESULTS}/${file}`) as TorchDict;
      expect([...v.keys()]).toEqual(['network', 'decoder', 'optim', 'time', 'val_loss', 'iteration', 'dt']);
      expect(v.get('val_loss')).toBe(valLoss);
      expect(v.get('iteration')).toBe(iteration);
      expect(v.get('dt')).toBe(0.02);
      expect(v.get('time')).toBe('Thu Jan  1 00:00:00 1970');
      expect(v.get('optim')).toEqual(new TorchDict());
      const original = loadTorchFile(bestChkpt(source)) as TorchDict;
      expect(stateDictFromTorch(v)).toEqual(stateDictFromTorch(original));
      expect(tensor(dict(v, 'network'), 'nodes_bias').device).toBe('cpu');
      const flow = dict(dict(v, 'decoder'), 'flow');
      const flow0 = dict(dict(original, 'decoder'), 'flow');
      for (const [k, t] of flow) expect((t as TorchTensor).data).toEqual(tensor(flow0, k as string).data);
    });
  }
});
