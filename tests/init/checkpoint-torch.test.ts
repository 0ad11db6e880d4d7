// Network.loadCheckpoint takes flyvis's torch checkpoints as they are, besides state_dict JSON.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CheckpointError } from '../../src/init/index.ts';
import { loadTorchFile, stateDictFromTorch } from '../../src/io/torch/index.ts';
import { Network } from '../../src/network/network.ts';
import { demoConnectome } from '../../src/graph/demo.ts';
import { ConnectomeFromAvgFilters } from '../../src/graph/compile.ts';
import { sharedPath } from '../helpers/shared.ts';

const member = sharedPath('flyvis', 'pretrained-v0.1.0', 'opticflow', '000', '0003');
const has = existsSync(join(member, 'best_chkpt'));
if (!has) console.warn('[checkpoint-torch test] skipped: ../shared/flyvis/pretrained-v0.1.0 is absent');

describe.skipIf(!has)('Network.loadCheckpoint with a torch.save file', () => {
  const net = Network.fromConnectome(ConnectomeFromAvgFilters('fib25-fib19_v2.2.json', 4));

  it("loads flyvis's checkpoint dict (its 'network' state_dict), value for value", () => {
    const file = join(member, 'best_chkpt');
    net.loadCheckpoint(file);
    const expected = stateDictFromTorch(loadTorchFile(file));
    const got = net.stateDict();
    for (const [name, values] of Object.entries(expected)) expect(Float32Array.from(got[name]!), name).toEqual(values);
    expect(Object.keys(got).sort()).toEqual(Object.keys(expected).sort());
  });

  it('refuses a truncated file and a directory with a CheckpointError naming them, changing nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flyvis-ckpt-'));
    const bytes = readFileSync(join(member, 'best_chkpt'));
    const truncated = join(dir, 'cut.pt');
    writeFileSync(truncated, bytes.subarray(0, bytes.length - 100));
    const before = net.stateDict();
    expect(() => net.loadCheckpoint(truncated)).toThrow(CheckpointError);
    expect(() => net.loadCheckpoint(truncated)).toThrow(/cut\.pt/);
    expect(() => net.loadCheckpoint(member)).toThrow(/0003: a directory; for a flyvis network directory use loadNetworkDir or loadParamsSource/);
    expect(net.stateDict()).toEqual(before);
  });

  it('a checkpoint for another connectome is refused with every problem named', () => {
    const demo = Network.fromConnectome(demoConnectome(2));
    expect(() => demo.loadCheckpoint(join(member, 'best_chkpt'))).toThrow(/nodes_bias: expected 14 values, got 65/);
  });
});
