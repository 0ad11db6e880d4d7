// Node edge: network parameters from wherever a user keeps them (for `--params` on every
// command): a state_dict JSON file, a torch.save checkpoint (a plain state_dict or flyvis's dict
// whose `network` entry is the state_dict), or a flyvis network directory (its best checkpoint).
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { CheckpointError, explainCheckpointSizes, type ConnectomeOrigin } from '../init/index.ts';
import { BoundedReadError, MAX_JSON_BYTES, readTextFileBounded } from '../io/read-bounded.ts';
import { loadTorchFile } from '../io/torch/node.ts';
import { stateDictFromTorch } from '../io/torch/state-dict.ts';
import { TorchDict } from '../io/torch/values.ts';
import type { Network } from '../network/network.ts';
import { isEnsembleDir, pathKind } from './meta.ts';
import { type CheckpointChoice, type NetworkDirInfo, checkpointProblems, describeCheckpoint, readCheckpointFile, resolveNetworkDir } from './network-dir.ts';
import { ResultsError } from './rules.ts';

export interface ParamsSource {
  /** What the path was: a state_dict JSON file, a torch.save file, or a flyvis network directory. */
  readonly kind: 'json' | 'torch' | 'network-dir';
  /** The path as given, resolved. */
  readonly path: string;
  /** The file the values were read from (for a network directory: the chosen checkpoint). */
  readonly file: string;
  /**
   * State_dict name to values: Float32Array for torch files and network directories, the parsed
   * JSON arrays for JSON (checked when loaded into a network: applyParamsSource).
   */
  readonly values: Readonly<Record<string, unknown>>;
  /** Where they came from, in one line (for logs and result sidecars). */
  readonly description: string;
  /** For a network directory: its checkpoint, validation values and config. */
  readonly networkDir?: NetworkDirInfo;
}

export interface LoadParamsSourceOptions {
  /** For a network directory: which checkpoint ('best', flyvis's rule, by default). */
  readonly checkpoint?: CheckpointChoice;
}

/** The first `n` bytes of a file. */
function head(file: string, n: number): Uint8Array {
  const fd = openSync(file, 'r');
  try {
    const buf = new Uint8Array(n);
    const got = readSync(fd, buf, 0, n, 0);
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

const isZip = (b: Uint8Array): boolean => b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04;

/** The first byte that is not JSON whitespace (or a UTF-8 byte order mark), or undefined. */
function firstNonSpace(b: Uint8Array): number | undefined {
  let i = b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0;
  while (i < b.length && (b[i] === 0x20 || b[i] === 0x0a || b[i] === 0x0d || b[i] === 0x09)) i++;
  return b[i];
}

/**
 * Reads network parameters from `path`: a state_dict JSON file (`{"nodes_bias": [...], ...}`, as
 * `flyvis save-params` or `json.dump(network.state_dict())` writes it), a torch.save file (a
 * state_dict, or flyvis's checkpoint dict with a `network` entry), or a flyvis network directory
 * (its best checkpoint, or `options.checkpoint`). Errors name the path: ResultsError for a missing
 * path, an ensemble directory (name a member), a directory that is no network directory, a file
 * that is neither JSON nor a torch.save zip, invalid JSON or JSON that is not an object;
 * TorchFileError for a damaged torch file; the errors of resolveNetworkDir for a network directory.
 */
export async function loadParamsSource(path: string, options: LoadParamsSourceOptions = {}): Promise<ParamsSource> {
  const p = resolve(path);
  const kind = pathKind(p);
  if (kind === 'missing') throw new ResultsError(p, 'no such file or directory (expected a state_dict JSON, a torch checkpoint or a flyvis network directory)');
  if (kind === 'dir') {
    if (isEnsembleDir(p)) {
      throw new ResultsError(p, 'is an ensemble directory: name one of its networks (e.g. its 0000 folder) for parameters');
    }
    const info = await resolveNetworkDir(p, options);
    const { stateDict } = readCheckpointFile(info.checkpointFile);
    return { kind: 'network-dir', path: p, file: info.checkpointFile, values: stateDict, description: describeCheckpoint(info), networkDir: info };
  }
  const st = statSync(p);
  if (!st.isFile()) {
    const what = st.isCharacterDevice() ? 'a character device' : st.isBlockDevice() ? 'a block device' : st.isFIFO() ? 'a named pipe' : st.isSocket() ? 'a socket' : 'not a file';
    throw new ResultsError(p, `not a regular file (${what})`);
  }
  let bytes: Uint8Array;
  try {
    bytes = head(p, 4096);
  } catch (e) {
    throw new ResultsError(p, `cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  if (isZip(bytes)) {
    const value = loadTorchFile(p);
    const values = stateDictFromTorch(value, p);
    const flyvisDict = value instanceof TorchDict && value.get('network') instanceof TorchDict;
    const what = flyvisDict ? 'the "network" state_dict of torch checkpoint' : 'torch state_dict';
    return { kind: 'torch', path: p, file: p, values, description: `${what} ${p}` };
  }
  const first = firstNonSpace(bytes);
  if (first !== 0x7b && first !== 0x5b) {
    const why = bytes.length === 0 ? 'the file is empty' : 'it starts with neither "{" nor the zip signature of torch.save';
    throw new ResultsError(p, `neither a state_dict JSON file nor a torch.save checkpoint (${why}); torch files older than 1.6 must be re-saved with a current torch`);
  }
  let text: string;
  try {
    text = readTextFileBounded(p, MAX_JSON_BYTES, 'JSON input');
  } catch (e) {
    if (e instanceof BoundedReadError) throw new ResultsError(p, e.detail);
    throw e;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ResultsError(p, `not valid JSON (${(e as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ResultsError(p, `expected a JSON object of parameter arrays (state_dict name -> values), got ${Array.isArray(parsed) ? 'an array' : typeof parsed}`);
  }
  return { kind: 'json', path: p, file: p, values: parsed as Record<string, unknown>, description: `state_dict JSON ${p}` };
}

export interface ApplyParamsOptions {
  /** The connectome the network was built on: a mis-sized source's error then says which extents it fits. */
  readonly connectome?: ConnectomeOrigin;
  /** What to do for a fitting extent, in the caller's words (e.g. (e) => `pass --extent ${e}`). */
  readonly advice?: (extent: number) => string;
  /** Receives warnings about parameters that load but are suspect (time constants <= 0). */
  readonly onWarning?: (message: string) => void;
}

/**
 * Loads a params source into a network (Network.loadCheckpoint's checks: every parameter present
 * with its size, finite, nothing unknown; nothing changes on an error). A source that does not fit
 * throws ResultsError naming the source's file, every problem and, with `options.connectome`,
 * which extents it fits, on one line.
 */
export function applyParamsSource(network: Network, source: ParamsSource, options: ApplyParamsOptions = {}): void {
  try {
    network.loadCheckpoint(source.values, options.onWarning ? { onWarning: (m) => options.onWarning!(`${source.file}: ${m}`) } : {});
  } catch (e) {
    if (!(e instanceof CheckpointError)) throw e;
    const explained = options.connectome ? explainCheckpointSizes(e, network.parameters, options.connectome, options.advice) : e;
    throw new ResultsError(source.file, `parameters do not fit this network: ${checkpointProblems(explained)}`, { cause: explained });
  }
}
