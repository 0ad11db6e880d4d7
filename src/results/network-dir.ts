// Node edge: a flyvis network directory (one trained network) and its checkpoints, in both
// layouts flyvis has written:
//   flyvis 1.x: <dir>/chkpts/chkpt_NNNNN, validation/epe.h5 or validation/loss.h5 (one value per
//               checkpoint); the best checkpoint has the lowest validation value (epe preferred);
//   flyvis 0.1: <dir>/best_chkpt, validation_loss.h5 (a scalar).
// `_meta.yaml` holds the run's config; the network is built from `config.network` (a 0.1 config
// mapped onto the same network, see mapNetworkConfig) with the checkpoint's `network` state_dict.
import { join, relative, resolve } from 'node:path';
import { loadConnectomeSpec } from '../graph/load.ts';
import type { ConnectomeSpec } from '../graph/spec.ts';
import { CheckpointError, explainCheckpointSizes, type ConnectomeOrigin } from '../init/index.ts';
import { readHdf5Dataset } from '../io/hdf5.ts';
import { loadTorchFile } from '../io/torch/node.ts';
import { stateDictFromTorch } from '../io/torch/state-dict.ts';
import { TorchDict, TorchTensor, type TorchValue } from '../io/torch/values.ts';
import { networkConfigFrom } from '../network/config-file.ts';
import { Network, type NetworkConfig, type NetworkOptions } from '../network/network.ts';
import { describeForeignDir, listDir, pathKind, readMeta, type ResultsMeta } from './meta.ts';
import {
  ResultsError,
  VALIDATION_FILES_1X,
  mapNetworkConfig,
  numpyArgmin,
  orderCheckpoints,
  resultsName,
} from './rules.ts';

/** Which flyvis wrote the directory: 1.x (chkpts/, validation/) or 0.1 (best_chkpt, validation_loss.h5). */
export type ResultsLayout = '1.x' | '0.1';

/** Which checkpoint to load: flyvis's best, or a position in the ordered checkpoints (negative: from the end). */
export type CheckpointChoice = 'best' | number;

export interface CheckpointEntry {
  /** The checkpoint's number (chkpt_00012: 12); null for 0.1's best_chkpt. */
  readonly index: number | null;
  readonly file: string;
}

/** A network directory with its checkpoint chosen (nothing loaded yet). */
export interface NetworkDirInfo {
  /** flyvis's name: the last three path components ('flow/0000/000', 'opticflow/000/0000'). */
  readonly name: string;
  readonly dir: string;
  readonly layout: ResultsLayout;
  /** The run's config, as `_meta.yaml` holds it (`type`, `network`, task settings...). */
  readonly config: Readonly<Record<string, unknown>>;
  readonly metaFile: string;
  /** All checkpoints in flyvis's order (1.x: by number; 0.1: best_chkpt alone). */
  readonly checkpoints: readonly CheckpointEntry[];
  /** The validation file read (validation/epe.h5, validation/loss.h5, validation_loss.h5), or null when there is none. */
  readonly validationFile: string | null;
  /** Its values (one per checkpoint in 1.x; one in 0.1), or null. */
  readonly validationLosses: Float64Array | null;
  /** The chosen checkpoint. */
  readonly checkpointFile: string;
  /** Its number (chkpt_NNNNN), or null for 0.1's best_chkpt. */
  readonly checkpointIndex: number | null;
  /** Its position in `checkpoints`. */
  readonly checkpointPosition: number;
  /** The validation value of the chosen checkpoint, or null without a validation file. */
  readonly validationLoss: number | null;
  /** How it was chosen: 'best' (flyvis's rule) or 'given'. */
  readonly chosenBy: 'best' | 'given';
}

/** Decoder state dicts of a checkpoint, by task ({flow: {'base.0.weight': tensor, ...}}). */
export type DecoderStates = Readonly<Record<string, Readonly<Record<string, TorchTensor>>>>;

/** A network directory loaded: the network built from its config with the checkpoint's parameters. */
export interface LoadedNetworkDir extends NetworkDirInfo {
  readonly network: Network;
  /** The network config the network was built from (flyvis 1.x's schema; see `configChanges`). */
  readonly networkConfig: NetworkConfig;
  /** What reading a flyvis 0.1 config changed, in words (empty for 1.x). */
  readonly configChanges: readonly string[];
  /** The checkpoint's network state_dict. */
  readonly stateDict: Readonly<Record<string, Float32Array>>;
  /** The checkpoint's decoder state dicts, when it holds a dict of state dicts of tensors. */
  readonly decoder?: DecoderStates;
}

export interface ResolveNetworkDirOptions {
  /** 'best' (default; flyvis's rule) or a position in the ordered checkpoints, negative from the end (Python indexing). */
  readonly checkpoint?: CheckpointChoice;
}

export interface LoadNetworkDirOptions extends ResolveNetworkDirOptions {
  /** Build the network at this extent instead of the config's (the parameters are per cell type; sizes are checked). */
  readonly extent?: number;
  /** Network options (kernel, threads) for a network built here. */
  readonly networkOptions?: NetworkOptions;
  /**
   * A network built by an earlier loadNetworkDir: when it was built from the same network config
   * and extent, the parameters are loaded into it (replacing its own) instead of building a new
   * network, as flyvis's init_network(network=...); otherwise a new one is built.
   */
  readonly reuse?: Network;
}

const V01_CHECKPOINT = 'best_chkpt';
const V01_VALIDATION = 'validation_loss.h5';

/** The meta of a network directory, or a ResultsError saying what the directory is instead. */
export function requireNetworkMeta(dir: string): ResultsMeta {
  const meta = readMeta(dir);
  if (meta === null) throw new ResultsError(dir, describeForeignDir(dir));
  if (meta.type === 'EnsembleDir') {
    throw new ResultsError(dir, 'is an ensemble directory (_meta.yaml says EnsembleDir), expected one network: load it with loadEnsembleDir or name a member (e.g. 0000)');
  }
  if (meta.type !== 'NetworkDir') throw new ResultsError(meta.file, `config.type is "${meta.type}", expected "NetworkDir" (a flyvis network directory)`);
  return meta;
}

/** The layout of a network directory from its files, or null when it has no checkpoints. */
function detectLayout(dir: string): { layout: ResultsLayout; checkpoints: CheckpointEntry[] } | null {
  const chkpts = join(dir, 'chkpts');
  if (pathKind(chkpts) === 'dir') {
    const { checkpoints, unnumbered } = orderCheckpoints(listDir(chkpts));
    if (unnumbered.length > 0) {
      throw new ResultsError(join(chkpts, unnumbered[0]!), 'a checkpoint name without a number (flyvis numbers them chkpt_NNNNN)');
    }
    if (checkpoints.length > 0) {
      return { layout: '1.x', checkpoints: checkpoints.map((c) => ({ index: c.index, file: join(chkpts, c.name) })) };
    }
  }
  if (pathKind(join(dir, V01_CHECKPOINT)) === 'file') {
    return { layout: '0.1', checkpoints: [{ index: null, file: join(dir, V01_CHECKPOINT) }] };
  }
  return null;
}

/** The layout from the validation files alone (for ensemble members without checkpoints). */
function layoutFromValidation(dir: string): ResultsLayout | null {
  if (pathKind(join(dir, V01_VALIDATION)) === 'file') return '0.1';
  if (VALIDATION_FILES_1X.some((f) => pathKind(join(dir, f)) === 'file')) return '1.x';
  return null;
}

/**
 * The validation values of a network directory: 1.x reads validation/epe.h5, else
 * validation/loss.h5 (flyvis's check_loss_name), a scalar or one value per checkpoint; 0.1
 * reads validation_loss.h5, a scalar. Null when there is no such file.
 */
export async function readValidation(dir: string, layout: ResultsLayout): Promise<{ file: string; values: Float64Array } | null> {
  const candidates = layout === '0.1' ? [V01_VALIDATION] : [...VALIDATION_FILES_1X];
  const rel = candidates.find((f) => pathKind(join(dir, f)) !== 'missing');
  if (rel === undefined) return null;
  const file = join(dir, rel);
  const { values, shape } = await readHdf5Dataset(file);
  if (shape.length > 1) throw new ResultsError(file, `dataset "data" has shape (${shape.join(', ')}), expected a scalar or one value per checkpoint`);
  if (layout === '0.1' && values.length !== 1) {
    throw new ResultsError(file, `dataset "data" holds ${values.length} values, expected one (flyvis 0.1's validation loss of best_chkpt)`);
  }
  return { file, values };
}

/**
 * Reads a network directory's meta, checkpoints and validation values and chooses the checkpoint
 * (nothing is built or loaded). flyvis's rule for 'best' (1.x): the checkpoint at numpy's argmin
 * of the validation values, so the first of equal values, and the first NaN if any value is NaN;
 * 0.1: best_chkpt. Throws ResultsError naming the file for: not a network directory (missing,
 * empty, foreign, an ensemble), no checkpoints, no validation file for 'best' in 1.x, validation
 * values that do not match the checkpoints one to one, a checkpoint position out of range; Hdf5Error
 * for an unreadable validation file.
 */
export async function resolveNetworkDir(dir: string, options: ResolveNetworkDirOptions = {}): Promise<NetworkDirInfo> {
  const root = resolve(dir);
  const meta = requireNetworkMeta(root);
  const found = detectLayout(root);
  if (found === null) {
    throw new ResultsError(root, 'network directory without checkpoints: neither chkpts/chkpt_NNNNN (flyvis 1.x) nor best_chkpt (flyvis 0.1)');
  }
  const { layout, checkpoints } = found;
  const choice = options.checkpoint ?? 'best';
  const validation = await readValidation(root, layout);
  const n = checkpoints.length;
  if (layout === '1.x' && validation !== null && validation.values.length !== n) {
    throw new ResultsError(validation.file, `holds ${validation.values.length} validation value${validation.values.length === 1 ? '' : 's'} for ${n} checkpoint${n === 1 ? '' : 's'} in chkpts/: they must match one to one`);
  }
  let position: number;
  if (choice === 'best') {
    if (layout === '1.x' && validation === null) {
      throw new ResultsError(root, `no ${VALIDATION_FILES_1X.join(' or ')}: the best checkpoint cannot be chosen (give a checkpoint position, 0 to ${n - 1})`);
    }
    position = layout === '1.x' ? numpyArgmin(validation!.values) : 0;
  } else {
    if (layout === '0.1') {
      throw new ResultsError(root, `flyvis 0.1 layout: only ${V01_CHECKPOINT} is stored, so checkpoint ${choice} does not exist (use 'best')`);
    }
    if (!Number.isInteger(choice) || choice < -n || choice >= n) {
      const have = checkpoints.map((c) => c.index).join(', ');
      throw new ResultsError(join(root, 'chkpts'), `no checkpoint at position ${choice}: there ${n === 1 ? 'is 1 checkpoint' : `are ${n} checkpoints`} (numbers ${have}); give 0 to ${n - 1}, or -1 for the last`);
    }
    position = choice < 0 ? n + choice : choice;
  }
  const chosen = checkpoints[position]!;
  return {
    name: resultsName(root, 3),
    dir: root,
    layout,
    config: meta.config,
    metaFile: meta.file,
    checkpoints,
    validationFile: validation?.file ?? null,
    validationLosses: validation?.values ?? null,
    checkpointFile: chosen.file,
    checkpointIndex: chosen.index,
    checkpointPosition: position,
    validationLoss: validation === null ? null : validation.values[layout === '1.x' ? position : 0]!,
    chosenBy: choice === 'best' ? 'best' : 'given',
  };
}

/** One line describing where a resolved checkpoint came from. */
export function describeCheckpoint(info: NetworkDirInfo): string {
  const rel = relative(info.dir, info.checkpointFile);
  const loss = info.validationLoss === null ? '' : `${relative(info.dir, info.validationFile!)} = ${info.validationLoss}`;
  const how = info.chosenBy === 'best'
    ? info.layout === '1.x' ? `best by ${loss}` : `best checkpoint${loss ? `, ${loss}` : ''}`
    : `checkpoint at position ${info.checkpointPosition}${loss ? `, ${loss}` : ''}`;
  return `network ${info.name} (${info.dir}): ${rel} (flyvis ${info.layout} layout; ${how})`;
}

/** The decoder entry of a checkpoint as plain records, when it is a dict of state dicts of tensors. */
function decoderStates(ckpt: TorchValue): DecoderStates | undefined {
  if (!(ckpt instanceof TorchDict)) return undefined;
  const dec = ckpt.get('decoder');
  if (!(dec instanceof TorchDict)) return undefined;
  const out: Record<string, Record<string, TorchTensor>> = {};
  for (const [task, sd] of dec) {
    if (typeof task !== 'string' || !(sd instanceof TorchDict)) return undefined;
    const entries: Record<string, TorchTensor> = {};
    for (const [k, v] of sd) {
      if (typeof k !== 'string' || !(v instanceof TorchTensor)) return undefined;
      entries[k] = v;
    }
    out[task] = entries;
  }
  return out;
}

/** Reads a checkpoint file: its network state_dict and decoder (TorchFileError naming the file when it cannot). */
export function readCheckpointFile(file: string): { stateDict: Record<string, Float32Array>; decoder: DecoderStates | undefined } {
  const value = loadTorchFile(file);
  return { stateDict: stateDictFromTorch(value, file), decoder: decoderStates(value) };
}

/** The config key of networks built by loadNetworkDir (for reuse). */
const builtFrom = new WeakMap<Network, string>();

const isRecord = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === 'object' && !Array.isArray(x);
const oneLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n').map((l) => l.trim()).filter(Boolean).join(' ');

/** A CheckpointError's problems and hint on one line. */
export function checkpointProblems(e: CheckpointError): string {
  const n = e.problems.length;
  return `${n === 1 ? '' : `${n} problems: `}${e.problems.join('; ')}${e.hint === undefined ? '' : `; ${e.hint}`}`;
}

/**
 * Loads a network directory: chooses the checkpoint (resolveNetworkDir), reads it, builds the
 * network from `config.network` (a flyvis 0.1 config mapped onto the same network; at
 * `options.extent` when given) and loads the checkpoint's `network` state_dict into it, checked by
 * the parameter system (every parameter present with its size, finite, nothing else). Errors:
 * those of resolveNetworkDir; TorchFileError for a checkpoint that is not a readable torch.save
 * file (truncated, tampered); ResultsError naming `_meta.yaml` for a config that cannot be built
 * (the connectome file's problems included), and naming the checkpoint for one that does not fit
 * the network (with the extents of the connectome its sizes fit, or that it fits none).
 */
export async function loadNetworkDir(dir: string, options: LoadNetworkDirOptions = {}): Promise<LoadedNetworkDir> {
  const info = await resolveNetworkDir(dir, options);
  const { stateDict, decoder } = readCheckpointFile(info.checkpointFile);
  const where = info.metaFile;
  const raw = info.config.network;
  if (!isRecord(raw)) throw new ResultsError(where, 'config.network: missing (expected the network config flyvis trained)');

  let spec: ConnectomeSpec | undefined;
  const connectome = isRecord(raw.connectome) ? raw.connectome : undefined;
  const specFile = connectome && (connectome.type === 'ConnectomeFromAvgFilters' || connectome.type === 'ConnectomeDir') &&
    typeof connectome.file === 'string' ? connectome.file : undefined;
  const loadSpec = (): ConnectomeSpec | undefined => {
    if (spec === undefined && specFile !== undefined) {
      try {
        spec = loadConnectomeSpec(specFile);
      } catch (e) {
        throw new ResultsError(where, `config.network.connectome.file: ${oneLine(e)}`, { cause: e });
      }
    }
    return spec;
  };
  const mapped = mapNetworkConfig(raw, () => (loadSpec()?.edges ?? []).map((e) => e.raw.edge_type as string | undefined), where);
  const network = mapped.network;
  if (options.extent !== undefined) {
    if (!isRecord(network.connectome)) throw new ResultsError(where, 'config.network.connectome: missing, so no extent can be set');
    network.connectome = { ...network.connectome, extent: options.extent };
  }
  let networkConfig: NetworkConfig;
  try {
    networkConfig = networkConfigFrom(network, 'config.network');
  } catch (e) {
    throw new ResultsError(where, oneLine(e), { cause: e });
  }
  const key = JSON.stringify(networkConfig);
  let net: Network;
  const reused = options.reuse !== undefined && builtFrom.get(options.reuse) === key;
  if (reused) {
    net = options.reuse!;
  } else {
    try {
      net = new Network(networkConfig, options.networkOptions ?? {});
    } catch (e) {
      if (e instanceof ResultsError) throw e;
      throw new ResultsError(where, `config.network: cannot build the network: ${oneLine(e)}`, { cause: e });
    }
    builtFrom.set(net, key);
  }

  try {
    net.loadCheckpoint(stateDict);
  } catch (e) {
    if (!(e instanceof CheckpointError)) throw e;
    const extent = isRecord(networkConfig.connectome) && typeof networkConfig.connectome.extent === 'number' ? networkConfig.connectome.extent : 15;
    const s = loadSpec();
    const origin: ConnectomeOrigin | undefined = s === undefined ? undefined : {
      spec: s,
      extent,
      nSynFill: isRecord(networkConfig.connectome) && typeof networkConfig.connectome.n_syn_fill === 'number' ? networkConfig.connectome.n_syn_fill : 1,
      name: specFile!,
    };
    const explained = origin ? explainCheckpointSizes(e, net.parameters, origin, (x) => `load it at extent ${x} (option extent)`) : e;
    if (!reused) net.dispose();
    throw new ResultsError(info.checkpointFile, `does not fit the network of ${where}: ${checkpointProblems(explained)}`, { cause: explained });
  }
  return {
    ...info,
    network: net,
    networkConfig,
    configChanges: mapped.changes,
    stateDict,
    ...(decoder ? { decoder } : {}),
  };
}

/** Layout and validation value of an ensemble member (no checkpoint needed). */
export async function memberValidation(dir: string): Promise<{ layout: ResultsLayout | null; file: string | null; values: Float64Array | null }> {
  const layout = detectLayout(dir)?.layout ?? layoutFromValidation(dir);
  if (layout === null) return { layout: null, file: null, values: null };
  const v = await readValidation(dir, layout);
  return { layout, file: v?.file ?? null, values: v?.values ?? null };
}
