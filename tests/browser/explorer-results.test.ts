// The explorer's readers for uploaded results directories, in Node (the page runs the same code in
// its worker; tests/browser/explorer-features.test.ts drives it there): web/src/zip.ts reads
// stored and deflated zip archives (DecompressionStream, which Node has too) and refuses broken
// ones with the reason; web/src/results-dir.ts chooses the same checkpoint, reads the same
// state_dict and maps the same network config as the library's loadNetworkDir reading the same
// directory from disk (flyvis 1.x: argmin of validation/epe.h5; flyvis 0.1: best_chkpt), and
// refuses what is not one network directory, naming the file.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Network, TorchTensor, writeTorchFile } from '../../src/index.ts';
import { readHdf5Dataset, writeHdf5Dataset } from '../../src/io/hdf5.ts';
import { loadNetworkDir } from '../../src/results/network-dir.ts';
import { readNetworkDirFiles, type DirFile } from '../../web/src/results-dir.ts';
import { readZipArchive } from '../../web/src/zip.ts';
import { ROOT } from './explorer-harness.ts';
import { filesUnder, writeTestZip } from './zip-writer.ts';

const SHARED_NET = resolve(ROOT, '..', 'shared', 'flyvis', 'pretrained-v0.1.0', 'opticflow', '000', '0000');
let hasShared = false;
try {
  hasShared = readFileSync(join(SHARED_NET, '_meta.yaml')).length > 0;
} catch {
  console.warn(`[flyvis-ts tests] skipping the explorer's flyvis 0.1 results-directory comparison: no ${SHARED_NET} (flyvis's pretrained networks, ../shared/flyvis)`);
}

let tmp = '';
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'flyvis-explorer-results-'));
});
afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** The HDF5 reader the worker gets, here through the library's (h5wasm, from a file). */
async function readH5(bytes: Uint8Array, file: string): Promise<Float64Array> {
  const path = join(tmp, `h5-${Math.random().toString(36).slice(2)}.h5`);
  writeFileSync(path, bytes);
  try {
    return (await readHdf5Dataset(path)).values;
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}

const upload = (dir: string, prefix: string): DirFile[] => filesUnder(dir, prefix).filter((f) => f.bytes !== undefined).map((f) => ({ path: f.path, bytes: f.bytes! }));

describe('zip archives (web/src/zip.ts)', () => {
  const files = [
    { path: 'net/' },
    { path: 'net/_meta.yaml', bytes: new TextEncoder().encode('{"config": {"type": "NetworkDir"}}') },
    { path: 'net/chkpts/' },
    { path: 'net/chkpts/chkpt_00001', bytes: Uint8Array.from({ length: 5000 }, (_, i) => (i * 7) % 13) },
    { path: 'net/empty', bytes: new Uint8Array(0) },
  ];

  it.each([true, false])('reads every file of an archive (deflated: %s), directories left out', async (deflate) => {
    const got = await readZipArchive(writeTestZip(files, { deflate }), 'net.zip');
    expect(got.map((f) => f.path)).toEqual(['net/_meta.yaml', 'net/chkpts/chkpt_00001', 'net/empty']);
    for (const f of got) expect([...f.bytes]).toEqual([...files.find((x) => x.path === f.path)!.bytes!]);
  });

  it('refuses a truncated archive, a corrupted entry, another compression and what is not a zip, naming the archive', async () => {
    const zip = writeTestZip(files);
    await expect(readZipArchive(zip.subarray(0, zip.length - 30), 'cut.zip')).rejects.toThrow(/^cut\.zip: truncated zip archive/);
    const flipped = zip.slice();
    const at = Buffer.from(zip).indexOf('net/chkpts/chkpt_00001') + 'net/chkpts/chkpt_00001'.length; // its local header's name, then its deflated data
    flipped[at + 3] = flipped[at + 3]! ^ 0x55;
    await expect(readZipArchive(flipped, 'bad.zip')).rejects.toThrow(/^bad\.zip: net\/chkpts\/chkpt_00001: (fails its CRC-32 check|cannot be inflated|inflates to)/);
    const stored = writeTestZip(files, { deflate: false });
    const s2 = stored.slice();
    const at2 = Buffer.from(stored).indexOf('net/chkpts/chkpt_00001') + 'net/chkpts/chkpt_00001'.length + 100; // inside its stored data
    s2[at2] = s2[at2]! ^ 0x01;
    await expect(readZipArchive(s2, 'bad.zip')).rejects.toThrow('bad.zip: net/chkpts/chkpt_00001: fails its CRC-32 check (corrupt archive)');
    const bzip = zip.slice();
    const cd = zip.length - 22 - files.reduce((n, f) => n + 46 + f.path.length, 0);
    new DataView(bzip.buffer).setUint16(cd + 46 + 'net/'.length + 10, 12, true); // the second entry's method: bzip2
    await expect(readZipArchive(bzip, 'bz.zip')).rejects.toThrow("bz.zip: net/_meta.yaml: is compressed with method 12; only stored (0) and deflated (8) entries are read");
    await expect(readZipArchive(new TextEncoder().encode('not a zip at all, just text'), 'text.zip')).rejects.toThrow('text.zip: not a zip archive');
  });
});

describe('network directories from uploaded files (web/src/results-dir.ts), as loadNetworkDir reads them', () => {
  it.skipIf(!hasShared)("flyvis 0.1 (best_chkpt, validation_loss.h5): the same checkpoint, state_dict, config and validation loss", async () => {
    const node = await loadNetworkDir(SHARED_NET, { networkOptions: { kernel: 'js' } });
    const zipped = await readZipArchive(writeTestZip(filesUnder(SHARED_NET, '0000')), '0000.zip');
    const page = await readNetworkDirFiles(zipped, '0000.zip', { extent: 15, readH5, edgeTypes: () => ['chem'] });
    expect(page.layout).toBe('0.1');
    expect(page.dir).toBe('0000');
    expect(page.checkpoint).toBe('0000/best_chkpt');
    expect(page.validationLoss).toBe(node.validationLoss);
    expect(page.networkConfig).toEqual(node.networkConfig);
    expect(page.configChanges.slice(0, node.configChanges.length)).toEqual(node.configChanges);
    expect(Object.keys(page.stateDict).sort()).toEqual(Object.keys(node.stateDict).sort());
    for (const [k, v] of Object.entries(node.stateDict)) expect([...page.stateDict[k]!], k).toEqual([...v]);
    expect(page.summary).toBe(`0000/best_chkpt (flyvis 0.1 layout; best_chkpt, validation_loss.h5 = ${node.validationLoss})`);
    node.network.dispose();
  });

  it('flyvis 1.x (chkpts/, validation/epe.h5): the checkpoint at numpy argmin, as loadNetworkDir chooses it', async () => {
    const dir = join(tmp, 'flow', '0000', '000');
    mkdirSync(join(dir, 'chkpts'), { recursive: true });
    mkdirSync(join(dir, 'validation'), { recursive: true });
    const network = { connectome: { type: 'ConnectomeFromAvgFilters', file: 'fib25-fib19_v2.2.json', extent: 1, n_syn_fill: 1 } };
    writeFileSync(join(dir, '_meta.yaml'), JSON.stringify({ config: { type: 'NetworkDir', network }, status: 'done' }));
    const base = new Network(network as never, { kernel: 'js' }).stateDict();
    for (let c = 0; c < 4; c++) {
      const sd: Record<string, TorchTensor> = {};
      for (const [k, v] of Object.entries(base)) sd[k] = new TorchTensor('float32', [v.length], Float32Array.from(v, (x) => (k === 'nodes_bias' ? x + 0.01 * c : x)));
      writeFileSync(join(dir, 'chkpts', `chkpt_${String(c * 5).padStart(5, '0')}`), writeTorchFile({ network: sd }));
    }
    await writeHdf5Dataset(join(dir, 'validation', 'epe.h5'), [0.9, 0.4, 0.4, 0.7]); // argmin: the first of equal values, position 1
    const node = await loadNetworkDir(dir, { networkOptions: { kernel: 'js' } });
    const page = await readNetworkDirFiles(upload(dir, '000'), '000', { extent: 1, readH5, edgeTypes: () => ['chem'] });
    expect(node.checkpointIndex).toBe(5);
    expect(page.checkpointIndex).toBe(5);
    expect(page.checkpoint).toBe('000/chkpts/chkpt_00005');
    expect(page.validationLoss).toBe(0.4);
    expect(page.networkConfig).toEqual(node.networkConfig);
    for (const [k, v] of Object.entries(node.stateDict)) expect([...page.stateDict[k]!], k).toEqual([...v]);
    expect(page.summary).toBe('000/chkpts/chkpt_00005 (flyvis 1.x layout; best by validation/epe.h5 = 0.4)');
    node.network.dispose();

    // what is not one network directory with a best checkpoint is refused, naming the file
    const opts = { extent: 1, readH5, edgeTypes: () => ['chem'] };
    const files = upload(dir, '000');
    await expect(readNetworkDirFiles(files.filter((f) => !f.path.endsWith('_meta.yaml')), 'x.zip', opts)).rejects.toThrow('x.zip: no _meta.yaml: not a flyvis results directory');
    await expect(readNetworkDirFiles(files.filter((f) => !f.path.includes('epe.h5')), 'x.zip', opts)).rejects.toThrow('x.zip/000: no validation/epe.h5 or validation/loss.h5: the best checkpoint cannot be chosen');
    await expect(readNetworkDirFiles(files.filter((f) => !f.path.includes('chkpt_')), 'x.zip', opts)).rejects.toThrow('x.zip/000: network directory without checkpoints');
    await expect(readNetworkDirFiles([...files, ...files.map((f) => ({ ...f, path: f.path.replace('000/', '001/') }))], 'two.zip', opts)).rejects.toThrow('two.zip: holds 2 network directories (000, 001): drop one at a time');
    const ensemble = [{ path: 'ens/_meta.yaml', bytes: new TextEncoder().encode('{"config": {"type": "EnsembleDir"}}') }];
    await expect(readNetworkDirFiles(ensemble, 'ens.zip', opts)).rejects.toThrow('ens.zip/ens/_meta.yaml: is an ensemble directory (EnsembleDir)');
    const fewer = files.map((f) => (f.path.endsWith('epe.h5') ? { ...f, bytes: f.bytes } : f)).filter((f) => !f.path.endsWith('chkpt_00015'));
    await expect(readNetworkDirFiles(fewer, 'x.zip', opts)).rejects.toThrow('x.zip/000/validation/epe.h5: holds 4 validation values for 3 checkpoints in chkpts/: they must match one to one');
  });
});
