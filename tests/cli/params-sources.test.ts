// --params takes what flyvis writes: a state_dict JSON, a torch checkpoint, a network directory
// (its best checkpoint by flyvis's rule); every command builds flyvis's default network (its
// connectome, shipped in data/, at extent 15) unless told otherwise.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readNpy } from '../../src/io/npy.ts';
import { writeHdf5Dataset } from '../../src/io/hdf5.ts';
import { loadTorchFile, stateDictFromTorch } from '../../src/io/torch/index.ts';
import { Network } from '../../src/network/network.ts';
import { PROJECT_DIR, hasShared, sharedPath } from '../helpers/shared.ts';

const flyvis = (...args: string[]) => spawnSync(process.execPath, ['bin/flyvis.mjs', ...args], { cwd: PROJECT_DIR, encoding: 'utf8' });
const member = sharedPath('flyvis', 'pretrained-v0.1.0', 'opticflow', '000', '0000');
const tree = sharedPath('golden', 'results-v1', 'flow', '0000', '001');
const hasData = hasShared && existsSync(member) && existsSync(tree);
if (!hasData) console.warn('[params-sources test] skipped: ../shared (flyvis pretrained networks, golden results tree) is absent');

describe.skipIf(!hasData)('--params: flyvis files and directories, on flyvis default network', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flyvis-params-'));

  it("run --params NETWORK_DIR: a trained flyvis network (0.1 layout) on the default network; its checkpoint's parameters take effect", () => {
    const trained = flyvis('run', '--params', member, '--out-dir', join(dir, 'trained'), '--on', '0.1', '--off', '0.1', '--grey', '0.1');
    expect(trained.stderr).toBe('');
    expect(trained.status).toBe(0);
    const untrained = flyvis('run', '--out-dir', join(dir, 'untrained'), '--on', '0.1', '--off', '0.1', '--grey', '0.1');
    expect(untrained.status).toBe(0);
    const a = readNpy(join(dir, 'trained', 'activity.npy'));
    const b = readNpy(join(dir, 'untrained', 'activity.npy'));
    expect(a.shape).toEqual([1, 30, 45669]); // flyvis's default network: extent 15
    // The same run in the library with the checkpoint's tensors loaded by hand.
    const net = new Network();
    net.loadCheckpoint(stateDictFromTorch(loadTorchFile(join(member, 'best_chkpt'))) as Record<string, unknown>);
    const state = net.steadyState(1, 0.01, 1);
    const movie = { data: new Float32Array(30 * 721), shape: [1, 30, 1, 721] };
    for (let t = 0; t < 30; t++) movie.data.fill(t < 10 ? 0.5 : t < 20 ? 1 : 0, t * 721, (t + 1) * 721);
    const expected = net.simulate(movie, 0.01, { initialState: state }) as { data: Float32Array };
    let maxDiff = 0;
    for (let i = 0; i < expected.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(expected.data[i]! - (a.data as Float32Array)[i]!));
    expect(maxDiff).toBe(0);
    let changed = 0;
    for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) changed++;
    expect(changed / a.data.length).toBeGreaterThan(0.5);
    const sidecar = JSON.parse(readFileSync(join(dir, 'trained', 'activity.npy.json'), 'utf8')) as { params: string };
    expect(sidecar.params).toContain('0000');
  }, 120_000);

  it('a torch checkpoint of another extent is refused, saying which --extent it fits (exit 2, nothing written)', () => {
    const out = join(dir, 'x.npy');
    const r = flyvis('run', '--extent', '2', '--params', join(tree, 'chkpts', 'chkpt_00000'), '--out-dir', join(dir, 'e2'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/chkpt_00000: parameters do not fit this network: edges_syn_count: expected 2310 values, got 2355; .*fit extents 4 to 15 of fib25-fib19_v2\.2\.json, not extent 2: pass --extent 15\n$/);
    expect(existsSync(join(dir, 'e2'))).toBe(false);
    expect(existsSync(out)).toBe(false);
  }, 60_000);

  it('an ensemble directory, a foreign directory and a non-checkpoint file are refused naming them', () => {
    const ensemble = flyvis('info', '--extent', '0'); // sanity: the default connectome at extent 0
    expect(ensemble.status).toBe(0);
    const cases: [string, RegExp][] = [
      [sharedPath('flyvis', 'pretrained-v0.1.0', 'opticflow', '000'), /is an ensemble directory: name one of its networks/],
      [PROJECT_DIR + '/docs', /docs/],
      [join(PROJECT_DIR, 'README.md'), /README\.md: neither a state_dict JSON file nor a torch\.save checkpoint/],
    ];
    for (const [params, message] of cases) {
      const r = flyvis('run', '--extent', '1', '--params', params, '--out-dir', join(dir, 'never'));
      expect(r.status, params).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(existsSync(join(dir, 'never'))).toBe(false);
    }
  }, 60_000);

  it('a truncated or tampered checkpoint, a pickle naming a foreign function, an HDF5 file without data: one line naming the file, exit 2, nothing written', async () => {
    const original = readFileSync(join(member, 'best_chkpt'));
    const truncated = join(dir, 'truncated.pt');
    writeFileSync(truncated, original.subarray(0, Math.floor(original.length / 2)));
    const tampered = join(dir, 'tampered.pt');
    const flipped = Buffer.from(original);
    flipped[Math.floor(flipped.length * 0.6)]! ^= 0xff; // inside a tensor's storage: its CRC-32 no longer matches
    writeFileSync(tampered, flipped);
    // A pickle naming os.system: the legacy-free zip layout with a data.pkl that calls a foreign global.
    const { writeZip } = await import('../../src/io/torch/zip.ts');
    const pkl = Uint8Array.from([0x80, 0x02, 0x63, ...Buffer.from('os\nsystem\n'), 0x58, 2, 0, 0, 0, 0x6c, 0x73, 0x85, 0x52, 0x2e]);
    const foreign = join(dir, 'foreign.pt');
    writeFileSync(foreign, writeZip([{ name: 'foreign/data.pkl', data: pkl }, { name: 'foreign/version', data: Buffer.from('3\n') }]));
    // A network directory whose validation file holds no 'data' dataset.
    const noData = join(dir, 'nodata');
    cpSync(join(tree), noData, { recursive: true });
    rmSync(join(noData, 'validation', 'epe.h5'));
    await writeHdf5Dataset(join(noData, 'validation', 'loss.h5'), [0.1, 0.2], { name: 'values' });
    const cases: [string, RegExp][] = [
      [truncated, /truncated\.pt: /],
      [tampered, /tampered\.pt: /],
      [foreign, /foreign\.pt: .*os\.system/],
      [noData, /loss\.h5: .*data/],
    ];
    for (const [params, message] of cases) {
      const out = join(dir, 'never');
      const r = flyvis('run', '--params', params, '--out-dir', out);
      expect(r.status, `${params}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(existsSync(out)).toBe(false);
    }
  }, 120_000);
});
