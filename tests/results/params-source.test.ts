// Parameter sources for --params (src/results/params-source.ts): a state_dict JSON file, a torch
// file holding a plain state_dict or flyvis's checkpoint dict, a network directory (its best
// checkpoint); loading one into a network; refusals naming the path.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { demoConnectome } from '../../src/graph/index.ts';
import { loadConnectomeSpec } from '../../src/graph/load.ts';
import { demoConnectomePath } from '../../src/graph/demo.ts';
import { TorchDict, TorchFileError, TorchTensor, saveTorchFile } from '../../src/io/torch/index.ts';
import { Network } from '../../src/network/network.ts';
import { ResultsError, applyParamsSource, loadParamsSource } from '../../src/results/index.ts';
import { PRETRAINED, RESULTS_V1, tempDir, writeMeta } from './helpers.ts';

const hasShared = existsSync(join(RESULTS_V1, '001', 'chkpts', 'chkpt_00000')) && existsSync(join(PRETRAINED, '0000', 'best_chkpt'));
if (!hasShared) console.warn(`[results/params-source] skipping network directories: ${RESULTS_V1} or ${PRETRAINED} is absent`);

async function resultsError(p: Promise<unknown>, file: string, problem: RegExp): Promise<void> {
  const e = await p.then(() => null, (x: unknown) => x);
  expect(e).toBeInstanceOf(ResultsError);
  expect((e as ResultsError).file).toBe(file);
  expect((e as ResultsError).message).not.toContain('\n');
  expect((e as ResultsError).problem).toMatch(problem);
}

describe('sources', () => {
  const dir = tempDir('params');
  const net = Network.fromConnectome(demoConnectome(2));
  const sd = net.stateDict();
  const changed = Object.fromEntries(Object.entries(sd).map(([k, v]) => [k, v.map((x, i) => Math.fround(x + (k === 'nodes_bias' ? 0.25 + i / 64 : 0)))]));

  it('a state_dict JSON file', async () => {
    const file = join(dir, 'params.json');
    writeFileSync(file, `\n ${JSON.stringify(changed)}`);
    const s = await loadParamsSource(file);
    expect(s.kind).toBe('json');
    expect(s.file).toBe(file);
    expect(s.description).toBe(`state_dict JSON ${file}`);
    const other = Network.fromConnectome(demoConnectome(2));
    applyParamsSource(other, s);
    expect(other.stateDict()).toEqual(changed);
  });

  it("a torch file: plain state_dict, or flyvis's dict with a network entry", async () => {
    const tensors = new TorchDict(Object.entries(changed).map(([k, v]) => [k, new TorchTensor('float32', [v.length], Float32Array.from(v))]), true);
    const plain = join(dir, 'plain.pt');
    saveTorchFile(plain, tensors);
    const flyvis = join(dir, 'flyvis.pt');
    saveTorchFile(flyvis, new TorchDict([['network', tensors], ['validation_loss', 1.5]]));
    const a = await loadParamsSource(plain);
    const b = await loadParamsSource(flyvis);
    expect([a.kind, b.kind]).toEqual(['torch', 'torch']);
    expect(a.description).toBe(`torch state_dict ${plain}`);
    expect(b.description).toBe(`the "network" state_dict of torch checkpoint ${flyvis}`);
    for (const s of [a, b]) {
      const other = Network.fromConnectome(demoConnectome(2));
      applyParamsSource(other, s);
      expect(other.stateDict()).toEqual(changed);
    }
  });

  it.skipIf(!hasShared)("a network directory: its best checkpoint (1.x and 0.1), described", async () => {
    const v1 = await loadParamsSource(join(RESULTS_V1, '001'));
    expect(v1.kind).toBe('network-dir');
    expect(v1.file).toBe(join(RESULTS_V1, '001', 'chkpts', 'chkpt_00000'));
    expect(v1.description).toBe(`network flow/0000/001 (${join(RESULTS_V1, '001')}): chkpts/chkpt_00000 (flyvis 1.x layout; best by validation/epe.h5 = 0.3)`);
    expect((v1.values.edges_syn_count as Float32Array).length).toBe(2355);
    const given = await loadParamsSource(join(RESULTS_V1, '001'), { checkpoint: 1 });
    expect(given.description).toMatch(/chkpts\/chkpt_00001 \(flyvis 1\.x layout; checkpoint at position 1, validation\/epe\.h5 = 0\.5\)$/);
    const v01 = await loadParamsSource(join(PRETRAINED, '0000'));
    expect(v01.file).toBe(join(PRETRAINED, '0000', 'best_chkpt'));
    expect(v01.description).toMatch(/^network opticflow\/000\/0000 \(.*\): best_chkpt \(flyvis 0\.1 layout; best checkpoint, validation_loss\.h5 = 5\.13/);
    await resultsError(loadParamsSource(PRETRAINED), PRETRAINED, /is an ensemble directory: name one of its networks/);
  });

  it.skipIf(!hasShared)('a source that does not fit the network: the file, every problem, which extents fit', async () => {
    const s = await loadParamsSource(join(RESULTS_V1, '000'));
    const demo = Network.fromConnectome(demoConnectome(2));
    const before = demo.stateDict();
    const origin = { spec: loadConnectomeSpec(demoConnectomePath), extent: 2, name: 'demo-connectome.json' };
    await resultsError(Promise.resolve().then(() => applyParamsSource(demo, s, { connectome: origin, advice: (e) => `pass --extent ${e}` })),
      s.file, /^parameters do not fit this network: 5 problems: nodes_bias: expected 14 values, got 65; .*fit no extent 0 to 15 of demo-connectome\.json/);
    expect(demo.stateDict()).toEqual(before); // nothing changed
  });

  it('refuses a missing path, an empty or foreign file, bad JSON, a JSON array, a damaged torch file', async () => {
    await resultsError(loadParamsSource(join(dir, 'nope.json')), join(dir, 'nope.json'), /no such file or directory/);
    writeFileSync(join(dir, 'empty'), '');
    await resultsError(loadParamsSource(join(dir, 'empty')), join(dir, 'empty'), /neither a state_dict JSON file nor a torch\.save checkpoint \(the file is empty\)/);
    writeFileSync(join(dir, 'notes.txt'), 'hello');
    await resultsError(loadParamsSource(join(dir, 'notes.txt')), join(dir, 'notes.txt'), /neither a state_dict JSON file nor a torch\.save checkpoint \(it starts with neither/);
    writeFileSync(join(dir, 'bad.json'), '{"nodes_bias": [1, 2');
    await resultsError(loadParamsSource(join(dir, 'bad.json')), join(dir, 'bad.json'), /^not valid JSON/);
    writeFileSync(join(dir, 'list.json'), '[1, 2]');
    await resultsError(loadParamsSource(join(dir, 'list.json')), join(dir, 'list.json'), /expected a JSON object of parameter arrays .*got an array/);
    writeFileSync(join(dir, 'cut.pt'), Buffer.from('PK\u0003\u0004 and then nothing'));
    const e = await loadParamsSource(join(dir, 'cut.pt')).then(() => null, (x: unknown) => x);
    expect(e).toBeInstanceOf(TorchFileError);
    expect((e as TorchFileError).file).toBe(join(dir, 'cut.pt'));
    mkdirSync(join(dir, 'folder'));
    await resultsError(loadParamsSource(join(dir, 'folder')), join(dir, 'folder'), /^empty directory/);
    writeMeta(join(dir, 'ens'), { type: 'EnsembleDir' });
    await resultsError(loadParamsSource(join(dir, 'ens')), join(dir, 'ens'), /is an ensemble directory/);
  });

  it('a JSON source with wrong entries: every problem, naming the file', async () => {
    const file = join(dir, 'wrong.json');
    const { nodes_bias: _, ...rest } = sd;
    writeFileSync(file, JSON.stringify({ ...rest, nodes_time_const: ['a'], extra: [1] }));
    const s = await loadParamsSource(file);
    await resultsError(Promise.resolve().then(() => applyParamsSource(Network.fromConnectome(demoConnectome(2)), s)), file,
      /^parameters do not fit this network: \d problems: nodes_bias: missing .*nodes_time_const\[0\]: expected a finite number, got 'a'.*extra: unknown parameter/);
  });
});
