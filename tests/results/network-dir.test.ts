// Network directories (src/results/network-dir.ts): flyvis's best checkpoint on the 1.x results
// tree in ../shared/golden/results-v1 (README there: chkpt_00001 for flow/0000/000, chkpt_00000
// for flow/0000/001 where epe wins), its rule on ties and NaN, flyvis 0.1's published networks
// (../shared/flyvis/pretrained-v0.1.0) built from their 0.1 configs, and bad input in temp dirs.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/autograd/index.ts';
import { Hdf5Error } from '../../src/io/hdf5.ts';
import { TorchDict, TorchFileError, TorchTensor, loadTorchFile, stateDictFromTorch } from '../../src/io/torch/index.ts';
import { Network } from '../../src/network/network.ts';
import { type LoadedNetworkDir, ResultsError, loadNetworkDir, resolveNetworkDir } from '../../src/results/index.ts';
import { PRETRAINED, RESULTS_V1, makeNetworkDir1x, networkConfig1x, tempDir, writeH5, writeMeta } from './helpers.ts';

const hasResults = existsSync(join(RESULTS_V1, '000', 'chkpts', 'chkpt_00000'));
const hasPretrained = existsSync(join(PRETRAINED, '0002', 'best_chkpt'));
if (!hasResults) console.warn(`[results/network-dir] skipping the 1.x results tree: ${RESULTS_V1} is absent`);
if (!hasPretrained) console.warn(`[results/network-dir] skipping flyvis 0.1's networks: ${PRETRAINED} is absent`);

const EMPTY = new Uint8Array(0);

async function failure(p: Promise<unknown>): Promise<Error> {
  const e = await p.then(() => null, (x: unknown) => x);
  expect(e).toBeInstanceOf(Error);
  expect((e as Error).message).not.toContain('\n');
  return e as Error;
}

async function resultsError(p: Promise<unknown>, file: string, problem: RegExp): Promise<ResultsError> {
  const e = await failure(p);
  expect(e).toBeInstanceOf(ResultsError);
  expect((e as ResultsError).file).toBe(file);
  expect(e.message.startsWith(`${file}: `)).toBe(true);
  expect((e as ResultsError).problem).toMatch(problem);
  return e as ResultsError;
}

const torchStateDict = (file: string): Record<string, Float32Array> => stateDictFromTorch(loadTorchFile(file), file);

describe.skipIf(!hasResults)("the 1.x results tree: flyvis's best checkpoint", () => {
  it('flow/0000/000: loss.h5 [0.6, 0.4] -> chkpt_00001', async () => {
    const info = await resolveNetworkDir(join(RESULTS_V1, '000'));
    expect(info.layout).toBe('1.x');
    expect(info.name).toBe('flow/0000/000');
    expect(info.checkpoints.map((c) => c.index)).toEqual([0, 1]);
    expect(info.checkpointFile).toBe(join(RESULTS_V1, '000', 'chkpts', 'chkpt_00001'));
    expect(info.checkpointIndex).toBe(1);
    expect(info.validationFile).toBe(join(RESULTS_V1, '000', 'validation', 'loss.h5'));
    expect(info.validationLoss).toBe(0.4);
  });

  it('flow/0000/001: epe.h5 [0.3, 0.5] wins over loss.h5 [0.9, 0.1] -> chkpt_00000', async () => {
    const info = await resolveNetworkDir(join(RESULTS_V1, '001'));
    expect(info.checkpointFile).toBe(join(RESULTS_V1, '001', 'chkpts', 'chkpt_00000'));
    expect(info.validationFile).toBe(join(RESULTS_V1, '001', 'validation', 'epe.h5'));
    expect(info.validationLoss).toBe(0.3);
    expect(Array.from(info.validationLosses!)).toEqual([0.3, 0.5]);
  });

  it('a given position picks that checkpoint (negative from the end) with its validation value', async () => {
    const last = await resolveNetworkDir(join(RESULTS_V1, '001'), { checkpoint: -1 });
    expect(last.checkpointIndex).toBe(1);
    expect(last.validationLoss).toBe(0.5);
    expect(last.chosenBy).toBe('given');
    await resultsError(resolveNetworkDir(join(RESULTS_V1, '001'), { checkpoint: 2 }), join(RESULTS_V1, '001', 'chkpts'), /no checkpoint at position 2: there are 2 checkpoints \(numbers 0, 1\)/);
  });
});

describe("flyvis's rule on synthetic directories", () => {
  const dir = tempDir('choice');
  const five = { chkpt_00000: EMPTY, chkpt_00001: EMPTY, chkpt_00002: EMPTY, chkpt_00003: EMPTY, chkpt_00004: EMPTY };
  const pick = async (name: string, validation: Partial<Record<'epe' | 'loss', number[]>>, checkpoints: Record<string, Uint8Array> = five) =>
    resolveNetworkDir(await makeNetworkDir1x(join(dir, name), { checkpoints, validation }));

  it('takes the first of equal lowest values', async () => {
    const info = await pick('ties', { loss: [0.5, 0.2, 0.3, 0.2, 0.9] });
    expect(info.checkpointIndex).toBe(1);
  });

  it('takes the first NaN when any value is NaN (numpy argmin), and reports it', async () => {
    const info = await pick('nan', { loss: [0.5, 0.1, NaN, 0.05, NaN] });
    expect(info.checkpointIndex).toBe(2);
    expect(info.validationLoss).toBeNaN();
  });

  it('prefers epe.h5 and falls back to loss.h5', async () => {
    expect((await pick('both', { epe: [3, 2, 1, 2, 3], loss: [1, 2, 3, 4, 5] })).checkpointIndex).toBe(2);
    expect((await pick('lossonly', { loss: [5, 4, 3, 2, 1] })).checkpointIndex).toBe(4);
  });

  it('orders checkpoints by number, not by name', async () => {
    const info = await pick('order', { loss: [0.3, 0.1, 0.2] }, { chkpt_10: EMPTY, chkpt_9: EMPTY, chkpt_00001: EMPTY });
    expect(info.checkpoints.map((c) => c.index)).toEqual([1, 9, 10]);
    expect(info.checkpointFile).toBe(join(dir, 'order', 'chkpts', 'chkpt_9'));
  });

  it('a scalar validation file serves a single checkpoint', async () => {
    const d = await makeNetworkDir1x(join(dir, 'scalar'), { checkpoints: { chkpt_00000: EMPTY } });
    await writeH5(join(d, 'validation', 'loss.h5'), { data: { data: Float64Array.of(0.7), shape: [] } });
    const info = await resolveNetworkDir(d);
    expect(info.checkpointIndex).toBe(0);
    expect(info.validationLoss).toBe(0.7);
  });

  it('refuses validation values that do not match the checkpoints one to one', async () => {
    const d = await makeNetworkDir1x(join(dir, 'mismatch'), { checkpoints: { chkpt_00000: EMPTY, chkpt_00001: EMPTY }, validation: { epe: [0.1, 0.2, 0.3] } });
    await resultsError(resolveNetworkDir(d), join(d, 'validation', 'epe.h5'), /^holds 3 validation values for 2 checkpoints in chkpts\//);
    await resultsError(resolveNetworkDir(d, { checkpoint: 0 }), join(d, 'validation', 'epe.h5'), /holds 3 validation values/);
  });

  it("without a validation file: 'best' is refused, a position loads with no loss", async () => {
    const d = await makeNetworkDir1x(join(dir, 'noval'), { checkpoints: { chkpt_00000: EMPTY, chkpt_00001: EMPTY } });
    await resultsError(resolveNetworkDir(d), d, /no validation\/epe\.h5 or validation\/loss\.h5: the best checkpoint cannot be chosen \(give a checkpoint position, 0 to 1\)/);
    const info = await resolveNetworkDir(d, { checkpoint: 1 });
    expect(info.checkpointIndex).toBe(1);
    expect(info.validationLoss).toBeNull();
  });

  it('refuses a validation file without dataset "data" (Hdf5Error naming it)', async () => {
    const d = await makeNetworkDir1x(join(dir, 'nodata'), { checkpoints: { chkpt_00000: EMPTY } });
    await writeH5(join(d, 'validation', 'epe.h5'), { values: { data: Float64Array.of(1) } });
    const e = await failure(resolveNetworkDir(d));
    expect(e).toBeInstanceOf(Hdf5Error);
    expect(e.message).toBe(`${join(d, 'validation', 'epe.h5')}: no dataset "data" (the file holds "values")`);
  });
});

describe('not a network directory', () => {
  const root = tempDir('foreign');

  it('refuses a missing path, a file, an empty or foreign directory', async () => {
    await resultsError(loadNetworkDir(join(root, 'nope')), join(root, 'nope'), /^no such directory$/);
    writeFileSync(join(root, 'file.txt'), 'x');
    await resultsError(loadNetworkDir(join(root, 'file.txt')), join(root, 'file.txt'), /is a file, expected a flyvis results directory/);
    mkdirSync(join(root, 'empty'));
    await resultsError(loadNetworkDir(join(root, 'empty')), join(root, 'empty'), /^empty directory, expected a flyvis results directory/);
    mkdirSync(join(root, 'photos'));
    writeFileSync(join(root, 'photos', 'a.jpg'), 'x');
    await resultsError(loadNetworkDir(join(root, 'photos')), join(root, 'photos'), /not a flyvis results directory: no _meta\.yaml \(holds a\.jpg\)/);
  });

  it('refuses an ensemble directory, another type and an unreadable _meta.yaml', async () => {
    writeMeta(join(root, 'ens'), { type: 'EnsembleDir' });
    await resultsError(loadNetworkDir(join(root, 'ens')), join(root, 'ens'), /is an ensemble directory .* load it with loadEnsembleDir/);
    writeMeta(join(root, 'other'), { type: 'ConnectomeDir' });
    await resultsError(loadNetworkDir(join(root, 'other')), join(root, 'other', '_meta.yaml'), /config\.type is "ConnectomeDir", expected "NetworkDir"/);
    mkdirSync(join(root, 'broken'));
    writeFileSync(join(root, 'broken', '_meta.yaml'), '{"config": [1, 2');
    await resultsError(loadNetworkDir(join(root, 'broken')), join(root, 'broken', '_meta.yaml'), /not valid JSON or YAML|expected a mapping/);
  });

  it('refuses a network directory without checkpoints', async () => {
    writeMeta(join(root, 'bare'), { type: 'NetworkDir', network: networkConfig1x() });
    mkdirSync(join(root, 'bare', 'chkpts'));
    await resultsError(loadNetworkDir(join(root, 'bare')), join(root, 'bare'), /network directory without checkpoints: neither chkpts\/chkpt_NNNNN \(flyvis 1\.x\) nor best_chkpt \(flyvis 0\.1\)/);
  });
});

describe.skipIf(!hasResults)('bad checkpoints and configs', () => {
  const root = tempDir('badckpt');
  const good = (): Uint8Array => readFileSync(join(RESULTS_V1, '000', 'chkpts', 'chkpt_00000'));

  it('a truncated or tampered .pt: TorchFileError naming the checkpoint', async () => {
    const cut = await makeNetworkDir1x(join(root, 'cut'), { checkpoints: { chkpt_00000: good().subarray(0, 20000) }, validation: { loss: [1] } });
    const e1 = await failure(loadNetworkDir(cut));
    expect(e1).toBeInstanceOf(TorchFileError);
    expect((e1 as TorchFileError).file).toBe(join(cut, 'chkpts', 'chkpt_00000'));
    const bytes = good();
    bytes[Math.floor(bytes.length / 2)]! ^= 0x5a;
    const tampered = await makeNetworkDir1x(join(root, 'tampered'), { checkpoints: { chkpt_00000: bytes }, validation: { loss: [1] } });
    const e2 = await failure(loadNetworkDir(tampered));
    expect(e2).toBeInstanceOf(TorchFileError);
    expect(e2.message.startsWith(`${join(tampered, 'chkpts', 'chkpt_00000')}: `)).toBe(true);
  });

  it('a checkpoint for another connectome: every size named, no extent fits', async () => {
    const d = await makeNetworkDir1x(join(root, 'demo'), { checkpoints: { chkpt_00000: good() }, validation: { loss: [1] }, network: networkConfig1x(3, 'demo-connectome.json') });
    await resultsError(loadNetworkDir(d), join(d, 'chkpts', 'chkpt_00000'),
      /^does not fit the network of .*_meta\.yaml: 5 problems: nodes_bias: expected 14 values, got 65; .*; the checkpoint's sizes fit no extent 0 to 15 of demo-connectome\.json/);
  });

  it('a checkpoint for another extent: which extents it fits', async () => {
    const d = await makeNetworkDir1x(join(root, 'ext2'), { checkpoints: { chkpt_00000: good() }, validation: { loss: [1] }, network: networkConfig1x(2) });
    await resultsError(loadNetworkDir(d), join(d, 'chkpts', 'chkpt_00000'),
      /edges_syn_count: expected 2310 values, got 2355; the checkpoint's sizes fit extents 4 to 15 of fib25-fib19_v2\.2\.json, not extent 2: load it at extent 15/);
  });

  it('a checkpoint with an unknown or missing entry', async () => {
    const sd = torchStateDict(join(RESULTS_V1, '000', 'chkpts', 'chkpt_00000'));
    const { saveTorchFile } = await import('../../src/io/torch/index.ts');
    const d = await makeNetworkDir1x(join(root, 'entries'), { checkpoints: { chkpt_00000: EMPTY }, validation: { loss: [1] }, network: networkConfig1x(4) });
    const entries = Object.entries(sd).filter(([k]) => k !== 'nodes_bias').map(([k, v]) => [k, new TorchTensor('float32', [v.length], v)] as [string, TorchTensor]);
    entries.push(['nodes_gain', new TorchTensor('float32', [1], Float32Array.of(1))]);
    saveTorchFile(join(d, 'chkpts', 'chkpt_00000'), new TorchDict([['network', new TorchDict(entries, true)]]));
    await resultsError(loadNetworkDir(d), join(d, 'chkpts', 'chkpt_00000'), /2 problems: nodes_bias: missing \(expected 65 values\); nodes_gain: unknown parameter/);
  });

  it('a config without config.network, or naming a missing connectome file', async () => {
    const d = await makeNetworkDir1x(join(root, 'nonet'), { checkpoints: { chkpt_00000: good() }, validation: { loss: [1] } });
    writeMeta(d, { type: 'NetworkDir' });
    await resultsError(loadNetworkDir(d), join(d, '_meta.yaml'), /config\.network: missing/);
    writeMeta(d, { type: 'NetworkDir', network: networkConfig1x(4, 'no-such-connectome.json') });
    await resultsError(loadNetworkDir(d), join(d, '_meta.yaml'), /config\.network: cannot build the network: .*no-such-connectome\.json.*file not found/);
  });
});

describe.skipIf(!hasPretrained)("flyvis 0.1's published networks", () => {
  it('refuses a checkpoint position (0.1 stores best_chkpt only)', async () => {
    await resultsError(resolveNetworkDir(join(PRETRAINED, '0002'), { checkpoint: 0 }), join(PRETRAINED, '0002'), /flyvis 0\.1 layout: only best_chkpt is stored/);
  });
});

describe.skipIf(!hasPretrained || !hasResults)('loading networks at extent 15', () => {
  let v01: LoadedNetworkDir; // opticflow/000/0002 (flyvis 0.1 layout and config)
  let v1x: LoadedNetworkDir; // flow/0000/000's best, chkpt_00001 = the same network 0002 (1.x layout and config)
  let initial: Network; // the 1.x config's network with its initial parameters
  beforeAll(async () => {
    v01 = await loadNetworkDir(join(PRETRAINED, '0002'));
    v1x = await loadNetworkDir(join(RESULTS_V1, '000'));
    initial = new Network(networkConfig1x());
  });
  afterAll(() => {
    v01?.network.dispose();
    v1x?.network.dispose();
    initial?.dispose();
  });

  it('reads the 0.1 directory: layout, validation loss, decoder, the config mapping', () => {
    expect(v01.layout).toBe('0.1');
    expect(v01.name).toBe('opticflow/000/0002');
    expect(v01.checkpointFile).toBe(join(PRETRAINED, '0002', 'best_chkpt'));
    expect(v01.checkpointIndex).toBeNull();
    expect(v01.validationLoss).toBeGreaterThan(0);
    expect((v01.config as { type: string }).type).toBe('NetworkDir');
    expect(v01.configChanges.join(' | ')).toMatch(/ConnectomeDir.*edge_type' dropped.*scale = 0\.01 \(scale_chem/);
    expect(Object.keys(v01.decoder!.flow!)).toContain('decoder.0.weight');
    expect(v01.decoder!.flow!['base.0.weight']!.shape).toEqual([8, 34, 5, 5]);
    expect(v1x.configChanges).toEqual([]);
  });

  it("the network's parameters are its checkpoint's tensors, bit for bit", () => {
    const expected = torchStateDict(join(PRETRAINED, '0002', 'best_chkpt'));
    const got = v01.network.stateDict();
    expect(Object.keys(got)).toEqual(Object.keys(expected));
    for (const [k, v] of Object.entries(expected)) expect(Float32Array.from(got[k]!)).toEqual(v);
    // the 1.x tree's chkpt_00001 holds the same network
    const other = v1x.network.stateDict();
    for (const [k, v] of Object.entries(expected)) expect(Float32Array.from(other[k]!)).toEqual(v);
  });

  it('the 0.1 config builds the same network as the 1.x config: same groups, same order', () => {
    const a = v01.network.parameters.parameters;
    const b = v1x.network.parameters.parameters;
    expect(a.map((p) => p.stateDictName)).toEqual(b.map((p) => p.stateDictName));
    for (const [i, p] of a.entries()) {
      expect(p.keys).toEqual(b[i]!.keys);
      // (a loop: deep equality of 1.5 million entries is slow)
      const [x, y] = [p.indices, b[i]!.indices];
      expect(x.length).toBe(y.length);
      let same = true;
      for (let j = 0; j < x.length && same; j++) same = x[j] === y[j];
      expect(same, `${p.stateDictName}: scatter indices`).toBe(true);
    }
  });

  it('simulates a short flash: finite, equal from both layouts, unlike the untrained network', () => {
    const hexals = v01.network.stimulus.nInputElements;
    const frames = 4;
    const movie = { data: new Float32Array(frames * hexals), shape: [1, frames, 1, hexals] };
    movie.data.fill(1, 0, 2 * hexals); // two bright frames, then dark
    const run = (net: Network): Float32Array => (net.simulate(movie, 1 / 50) as Tensor).data as Float32Array;
    const trained = run(v01.network);
    expect(trained.length).toBe(frames * v01.network.nNodes);
    expect(trained.every(Number.isFinite)).toBe(true);
    expect(run(v1x.network)).toEqual(trained);
    const untrained = run(initial);
    let differ = 0;
    for (let i = 0; i < trained.length; i++) if (Math.abs(trained[i]! - untrained[i]!) > 1e-3) differ++;
    expect(differ).toBeGreaterThan(trained.length / 2);
  });

  it('loads another member into the same network (reuse) when the config is the same', async () => {
    const next = await loadNetworkDir(join(PRETRAINED, '0000'), { reuse: v01.network });
    expect(next.network).toBe(v01.network);
    const expected = torchStateDict(join(PRETRAINED, '0000', 'best_chkpt'));
    const got = next.network.stateDict();
    for (const [k, v] of Object.entries(expected)) expect(Float32Array.from(got[k]!)).toEqual(v);
    // a network built from another config is not reused
    const other = await loadNetworkDir(join(PRETRAINED, '0000'), { reuse: initial, extent: 4 });
    expect(other.network).not.toBe(initial);
    other.network.dispose();
  });
});
