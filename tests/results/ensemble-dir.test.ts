// Ensemble directories (src/results/ensemble-dir.ts): flyvis's published ensemble
// (../shared/flyvis/pretrained-v0.1.0/opticflow/000, 50 members, validation losses compared with
// h5py where /usr/bin/python3 has it), the 1.x tree ../shared/golden/results-v1/flow/0000, lazy
// loading, and bad input in temp dirs.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTorchFile, stateDictFromTorch } from '../../src/io/torch/index.ts';
import { ResultsError, isEnsembleDir, isNetworkDir, loadEnsembleDir } from '../../src/results/index.ts';
import { PRETRAINED, RESULTS_V1, makeNetworkDir1x, tempDir, writeMeta } from './helpers.ts';

const hasPretrained = existsSync(join(PRETRAINED, '0049', 'validation_loss.h5'));
const hasResults = existsSync(join(RESULTS_V1, '001', 'validation', 'epe.h5'));
if (!hasPretrained) console.warn(`[results/ensemble-dir] skipping flyvis's published ensemble: ${PRETRAINED} is absent`);
if (!hasResults) console.warn(`[results/ensemble-dir] skipping the 1.x results tree: ${RESULTS_V1} is absent`);

function h5pyPython(): string | null {
  for (const python of ['python3', '/usr/bin/python3']) {
    try {
      execFileSync(python, ['-c', 'import h5py'], { stdio: 'ignore' });
      return python;
    } catch {
      // not this one
    }
  }
  return null;
}
const python = h5pyPython();
if (python === null) console.warn('[results/ensemble-dir] skipping the h5py comparison: no python3 with h5py');

const ids = Array.from({ length: 50 }, (_, i) => String(i).padStart(4, '0'));
const EMPTY = new Uint8Array(0);

async function resultsError(p: Promise<unknown>, file: string, problem: RegExp): Promise<void> {
  const e = await p.then(() => null, (x: unknown) => x);
  expect(e).toBeInstanceOf(ResultsError);
  expect((e as ResultsError).file).toBe(file);
  expect((e as ResultsError).message).not.toContain('\n');
  expect((e as ResultsError).problem).toMatch(problem);
}

describe.skipIf(!hasPretrained)("flyvis's published ensemble (0.1 layout)", () => {
  it('lists the 50 members in folder order with their validation losses', async () => {
    expect(isEnsembleDir(PRETRAINED)).toBe(true);
    expect(isNetworkDir(PRETRAINED)).toBe(false);
    expect(isNetworkDir(join(PRETRAINED, '0003'))).toBe(true);
    const e = await loadEnsembleDir(PRETRAINED);
    expect(e.name).toBe('opticflow/000');
    expect(e.members.map((m) => m.id)).toEqual(ids); // 'clustering' is no member
    expect(e.members.map((m) => m.name)).toEqual(ids.map((id) => `opticflow/000/${id}`));
    expect(e.skipped).toEqual([]);
    for (const m of e.members) {
      expect(m.layout).toBe('0.1');
      expect(m.validationFile).toBe(join(PRETRAINED, m.id, 'validation_loss.h5'));
      expect(Number.isFinite(m.validationLoss)).toBe(true);
    }
    expect(e.member('0007')).toBe(e.members[7]);
    expect(e.member('opticflow/000/0007')).toBe(e.members[7]);
    expect(e.member(-1)).toBe(e.members[49]);
    await resultsError(Promise.resolve().then(() => e.member(50)), PRETRAINED, /no member position 50 \(0 to 49\); members: 0000 to 0049/);
    await resultsError(Promise.resolve().then(() => e.member('0050')), PRETRAINED, /no member "0050"/);
  });

  it.skipIf(python === null)('validation losses equal those h5py reads', async () => {
    const e = await loadEnsembleDir(PRETRAINED);
    const picked = [0, 17, 31, 49];
    const files = picked.map((i) => join(PRETRAINED, ids[i]!, 'validation_loss.h5'));
    const script = 'import sys, h5py\nfor f in sys.argv[1:]:\n    print(repr(float(h5py.File(f, "r")["data"][()])))';
    const out = execFileSync(python!, ['-c', script, ...files], { encoding: 'utf8' }).trim().split('\n').map(Number);
    expect(picked.map((i) => e.members[i]!.validationLoss)).toEqual(out);
  });

  it('bestMembers ranks by validation loss, lowest first', async () => {
    const e = await loadEnsembleDir(PRETRAINED);
    const best = e.bestMembers(5);
    expect(best).toHaveLength(5);
    const losses = e.members.map((m) => m.validationLoss!).sort((a, b) => a - b);
    expect(best.map((m) => m.validationLoss)).toEqual(losses.slice(0, 5));
    expect(e.bestMembers().map((m) => m.validationLoss)).toEqual(losses);
  });

  it('loads members lazily, one network reused as flyvis yield_networks does', async () => {
    const e = await loadEnsembleDir(PRETRAINED);
    const seen: string[] = [];
    let first: unknown;
    for await (const loaded of e.networks({ members: ['0003', 10], extent: 4 })) {
      first ??= loaded.network;
      expect(loaded.network).toBe(first);
      const expected = stateDictFromTorch(loadTorchFile(loaded.checkpointFile), loaded.checkpointFile);
      const got = loaded.network.stateDict();
      for (const [k, v] of Object.entries(expected)) expect(Float32Array.from(got[k]!), `${loaded.name} ${k}`).toEqual(v);
      seen.push(loaded.name);
    }
    expect(seen).toEqual(['opticflow/000/0003', 'opticflow/000/0010']);
    (first as { dispose(): void }).dispose();
  });
});

describe.skipIf(!hasResults)('the 1.x results tree as an ensemble', () => {
  it("reports each member's lowest validation value (epe when present)", async () => {
    const e = await loadEnsembleDir(RESULTS_V1);
    expect(e.name).toBe('flow/0000');
    expect(e.members.map((m) => [m.id, m.layout, m.validationLoss])).toEqual([['000', '1.x', 0.4], ['001', '1.x', 0.3]]);
    expect(e.members[1]!.validationFile).toBe(join(RESULTS_V1, '001', 'validation', 'epe.h5'));
    expect(e.bestMembers(1).map((m) => m.id)).toEqual(['001']);
  });
});

describe('bad ensemble directories', () => {
  const root = tempDir('ens');

  it('refuses a missing, empty or foreign directory and a network directory', async () => {
    await resultsError(loadEnsembleDir(join(root, 'nope')), join(root, 'nope'), /^no such directory$/);
    mkdirSync(join(root, 'empty'));
    await resultsError(loadEnsembleDir(join(root, 'empty')), join(root, 'empty'), /^empty directory/);
    mkdirSync(join(root, 'foreign'));
    writeFileSync(join(root, 'foreign', 'data.csv'), '1,2');
    await resultsError(loadEnsembleDir(join(root, 'foreign')), join(root, 'foreign'), /no _meta\.yaml \(holds data\.csv\)/);
    const net = await makeNetworkDir1x(join(root, 'net'), { checkpoints: { chkpt_00000: EMPTY } });
    await resultsError(loadEnsembleDir(net), net, /is a network directory .* load it with loadNetworkDir/);
  });

  it('refuses an ensemble without members', async () => {
    writeMeta(join(root, 'none'), { type: 'EnsembleDir' });
    mkdirSync(join(root, 'none', 'clustering'));
    await resultsError(loadEnsembleDir(join(root, 'none')), join(root, 'none'), /ensemble directory without members: no numbered member folders/);
  });

  it('skips numbered folders without _meta.yaml with a warning, refuses a member of another type', async () => {
    const e = join(root, 'mixed');
    writeMeta(e, { type: 'EnsembleDir' });
    await makeNetworkDir1x(join(e, '001'), { checkpoints: { chkpt_00000: EMPTY }, validation: { loss: [NaN] } });
    await makeNetworkDir1x(join(e, '000'), { checkpoints: { chkpt_00000: EMPTY, chkpt_00001: EMPTY }, validation: { loss: [0.9, 0.8] } });
    await makeNetworkDir1x(join(e, '003'), { checkpoints: { chkpt_00000: EMPTY } }); // no validation file
    await makeNetworkDir1x(join(e, '004'), { checkpoints: { chkpt_00000: EMPTY }, validation: { loss: [0.5] } });
    mkdirSync(join(e, '002'));
    const warnings: string[] = [];
    const view = await loadEnsembleDir(e, { onWarning: (m) => warnings.push(m) });
    expect(view.members.map((m) => m.id)).toEqual(['000', '001', '003', '004']);
    expect(view.members.map((m) => m.validationLoss)).toEqual([0.8, NaN, null, 0.5]);
    expect(view.skipped).toEqual([{ dir: join(e, '002'), reason: 'no _meta.yaml' }]);
    expect(warnings).toEqual([`${join(e, '002')}: skipped (no _meta.yaml), as flyvis's Ensemble skips it`]);
    expect(view.bestMembers().map((m) => m.id)).toEqual(['004', '000', '001', '003']);
    writeMeta(join(e, '005'), { type: 'EnsembleDir' });
    await resultsError(loadEnsembleDir(e, { onWarning: () => {} }), join(e, '005', '_meta.yaml'), /config\.type is "EnsembleDir", expected "NetworkDir" \(member 005 of ensemble/);
  });
});
