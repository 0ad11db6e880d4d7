// A flyvis network directory from its files (a dropped folder or an uploaded zip), as the
// library's loadNetworkDir (src/results/network-dir.ts, a Node edge: it reads the file system)
// reads it, with the same rules (src/results/rules.ts): `_meta.yaml` says NetworkDir; flyvis 1.x
// keeps chkpts/chkpt_NNNNN and the best is numpy's argmin of validation/epe.h5 (else
// validation/loss.h5), one value per checkpoint; flyvis 0.1 keeps best_chkpt (and
// validation_loss.h5, a scalar). The network config is `config.network` mapped onto flyvis 1.x's
// schema (mapNetworkConfig), at the page's extent, and the checkpoint's `network` state_dict is
// read by the library's torch reader. HDF5 is read by the caller's `readH5` (the worker loads
// h5wasm for it, only when a validation file is there). Errors are ResultsError naming the file.
import { parse as parseYaml } from 'yaml';
import { readTorchFile, stateDictFromTorch } from '../../src/core.ts';
import { ResultsError, VALIDATION_FILES_1X, mapNetworkConfig, numpyArgmin, orderCheckpoints } from '../../src/results/rules.ts';
import { networkConfigFrom } from '../../src/network/config-file.ts';
import type { NetworkConfig } from '../../src/network/network.ts';

export { ResultsError };

export interface DirFile {
  /** Path in the upload ('/'-separated; a zip's entry path, or a dropped folder's relative path). */
  readonly path: string;
  readonly bytes: Uint8Array;
}

export interface NetworkDirRead {
  /** The network directory's path in the upload ('' for its root). */
  readonly dir: string;
  readonly layout: '1.x' | '0.1';
  /** The chosen (best) checkpoint's path, its number (null for best_chkpt) and validation value. */
  readonly checkpoint: string;
  readonly checkpointIndex: number | null;
  readonly validationFile: string | null;
  readonly validationLoss: number | null;
  readonly checkpoints: number;
  /** The network config to build (flyvis 1.x's schema, at `extent`) and what mapping it changed. */
  readonly networkConfig: NetworkConfig;
  readonly configChanges: readonly string[];
  readonly stateDict: Readonly<Record<string, Float32Array>>;
  /** One line: which checkpoint, chosen how. */
  readonly summary: string;
}

const isRecord = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === 'object' && !Array.isArray(x);
const join = (dir: string, name: string): string => (dir === '' ? name : `${dir}/${name}`);
const parent = (path: string): string => (path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '');

/** Paths without a leading './' or '/', macOS's __MACOSX/ and ._ resource forks left out. */
function normalise(files: readonly DirFile[]): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const f of files) {
    const path = f.path.replace(/\\/g, '/').replace(/^(\.\/|\/)+/, '');
    if (path.startsWith('__MACOSX/') || /(^|\/)\._/.test(path)) continue;
    out.set(path, f.bytes);
  }
  return out;
}

function readMeta(path: string, bytes: Uint8Array, where: string): { type: string; config: Record<string, unknown> } {
  const file = `${where}/${path}`;
  const text = new TextDecoder().decode(bytes);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    try {
      raw = parseYaml(text); // datamate writes JSON; YAML (a superset) is accepted
    } catch (e) {
      throw new ResultsError(file, `not valid JSON or YAML (${(e as Error).message.split('\n')[0]})`);
    }
  }
  if (!isRecord(raw) || !isRecord(raw.config)) throw new ResultsError(file, 'expected a mapping with a "config" mapping (datamate\'s _meta.yaml)');
  if (typeof raw.config.type !== 'string') throw new ResultsError(file, 'config.type: expected a string such as "NetworkDir" or "EnsembleDir"');
  return { type: raw.config.type, config: raw.config };
}

/**
 * Reads a network directory from an upload's files: finds the directory whose `_meta.yaml` says
 * NetworkDir (there must be exactly one), chooses its best checkpoint by flyvis's rule, reads it
 * and maps the config. `where` names the upload in errors (the zip's or the folder's name);
 * `edgeTypes` lists the connectome's edge types' `edge_type` (for flyvis 0.1 configs).
 */
export async function readNetworkDirFiles(
  uploaded: readonly DirFile[],
  where: string,
  options: {
    readonly extent: number;
    readonly readH5: (bytes: Uint8Array, file: string) => Promise<Float64Array>;
    readonly edgeTypes: () => readonly (string | undefined)[];
  },
): Promise<NetworkDirRead> {
  const files = normalise(uploaded);
  if (files.size === 0) throw new ResultsError(where, 'holds no files');
  const metas = [...files.keys()].filter((p) => p === '_meta.yaml' || p.endsWith('/_meta.yaml')).sort();
  if (metas.length === 0) throw new ResultsError(where, 'no _meta.yaml: not a flyvis results directory (drop a network directory such as flow/0000/000, or a zip of one)');
  const read = metas.map((m) => ({ path: m, dir: parent(m), ...readMeta(m, files.get(m)!, where) }));
  const networks = read.filter((m) => m.type === 'NetworkDir');
  if (networks.length === 0) {
    const ensemble = read.find((m) => m.type === 'EnsembleDir');
    if (ensemble) throw new ResultsError(`${where}/${ensemble.path}`, 'is an ensemble directory (EnsembleDir) with no network directory in the upload: drop one member (e.g. 0000) instead');
    throw new ResultsError(`${where}/${read[0]!.path}`, `config.type is "${read[0]!.type}", expected "NetworkDir" (a flyvis network directory)`);
  }
  if (networks.length > 1) {
    const list = networks.slice(0, 4).map((m) => m.dir || '.').join(', ');
    throw new ResultsError(where, `holds ${networks.length} network directories (${list}${networks.length > 4 ? ', …' : ''}): drop one at a time`);
  }
  const meta = networks[0]!;
  const dir = meta.dir;
  const shown = (p: string): string => `${where}/${p}`;
  const inDir = (sub: string): string[] => {
    const prefix = join(dir, sub) + '/';
    return [...files.keys()].filter((p) => p.startsWith(prefix) && !p.slice(prefix.length).includes('/')).map((p) => p.slice(prefix.length));
  };

  // the checkpoints: 1.x's chkpts/ folder, else 0.1's best_chkpt
  let layout: '1.x' | '0.1';
  let checkpoints: { index: number | null; path: string }[];
  const { checkpoints: numbered, unnumbered } = orderCheckpoints(inDir('chkpts'));
  if (unnumbered.length > 0) throw new ResultsError(shown(join(dir, `chkpts/${unnumbered[0]}`)), 'a checkpoint name without a number (flyvis numbers them chkpt_NNNNN)');
  if (numbered.length > 0) {
    layout = '1.x';
    checkpoints = numbered.map((c) => ({ index: c.index, path: join(dir, `chkpts/${c.name}`) }));
  } else if (files.has(join(dir, 'best_chkpt'))) {
    layout = '0.1';
    checkpoints = [{ index: null, path: join(dir, 'best_chkpt') }];
  } else {
    throw new ResultsError(shown(dir || '.'), 'network directory without checkpoints: neither chkpts/chkpt_NNNNN (flyvis 1.x) nor best_chkpt (flyvis 0.1)');
  }

  // the validation values, and the best checkpoint
  const candidates = layout === '0.1' ? ['validation_loss.h5'] : [...VALIDATION_FILES_1X];
  const validation = candidates.map((c) => join(dir, c)).find((p) => files.has(p)) ?? null;
  const values = validation === null ? null : await options.readH5(files.get(validation)!, shown(validation));
  const n = checkpoints.length;
  let position = 0;
  if (layout === '1.x') {
    if (values === null) throw new ResultsError(shown(dir || '.'), `no ${VALIDATION_FILES_1X.join(' or ')}: the best checkpoint cannot be chosen`);
    if (values.length !== n) throw new ResultsError(shown(validation!), `holds ${values.length} validation value${values.length === 1 ? '' : 's'} for ${n} checkpoint${n === 1 ? '' : 's'} in chkpts/: they must match one to one`);
    position = numpyArgmin(values);
  } else if (values !== null && values.length !== 1) {
    throw new ResultsError(shown(validation!), `holds ${values.length} values, expected one (flyvis 0.1's validation loss of best_chkpt)`);
  }
  const chosen = checkpoints[position]!;

  // the checkpoint's network state_dict
  const stateDict = stateDictFromTorch(readTorchFile(files.get(chosen.path)!, shown(chosen.path)), shown(chosen.path));

  // the network config, mapped onto flyvis 1.x's schema, at the page's extent
  const metaFile = shown(meta.path);
  const raw = meta.config.network;
  if (!isRecord(raw)) throw new ResultsError(metaFile, 'config.network: missing (expected the network config flyvis trained)');
  const mapped = mapNetworkConfig(raw, options.edgeTypes, metaFile);
  const network = mapped.network;
  if (!isRecord(network.connectome)) throw new ResultsError(metaFile, 'config.network.connectome: missing');
  const changes = [...mapped.changes];
  if (network.connectome.extent !== options.extent) {
    changes.push(`connectome.extent ${JSON.stringify(network.connectome.extent)} built at ${options.extent} (the page's extent; the parameters are per cell type)`);
    network.connectome = { ...network.connectome, extent: options.extent };
  }
  let networkConfig: NetworkConfig;
  try {
    networkConfig = networkConfigFrom(network, 'config.network');
  } catch (e) {
    throw new ResultsError(metaFile, (e as Error).message);
  }
  const loss = values === null ? null : values[layout === '1.x' ? position : 0]!;
  const how = layout === '1.x' ? `best by ${validation!.slice(dir.length ? dir.length + 1 : 0)} = ${loss}` : `best_chkpt${loss === null ? '' : `, validation_loss.h5 = ${loss}`}`;
  return {
    dir,
    layout,
    checkpoint: chosen.path,
    checkpointIndex: chosen.index,
    validationFile: validation,
    validationLoss: loss,
    checkpoints: n,
    networkConfig,
    configChanges: changes,
    stateDict,
    summary: `${chosen.path} (flyvis ${layout} layout; ${how})`,
  };
}
