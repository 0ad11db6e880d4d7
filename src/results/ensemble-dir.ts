// Node edge: a flyvis ensemble directory (`_meta.yaml` says EnsembleDir): one network directory
// per member, in numbered subfolders (0000, 0001, ... in 0.1; 000, 001, ... in 1.x). Members are
// listed as flyvis 1.x's Ensemble / EnsembleView lists them: the numbered subfolders in name
// order (try_sort=False); `bestMembers` ranks them by validation loss. Networks load lazily.
import { join, resolve } from 'node:path';
import { describeForeignDir, listDir, pathKind, readMeta } from './meta.ts';
import { type LoadNetworkDirOptions, type LoadedNetworkDir, type ResultsLayout, loadNetworkDir, memberValidation } from './network-dir.ts';
import { ResultsError, compareCodePoints, isMemberName, numpyMin, rankByLoss, resultsName } from './rules.ts';

export interface EnsembleMember {
  /** flyvis's name: the last three path components ('opticflow/000/0000'). */
  readonly name: string;
  /** The member folder's name ('0000'). */
  readonly id: string;
  readonly dir: string;
  readonly layout: ResultsLayout | null;
  /**
   * The member's validation loss as flyvis's Ensemble reports it (min_validation_losses): 0.1's
   * validation_loss.h5; 1.x's smallest value of validation/epe.h5 (else loss.h5), NaN if any is
   * NaN. Null when the member has no validation file.
   */
  readonly validationLoss: number | null;
  readonly validationFile: string | null;
}

/** A numbered subfolder flyvis skips (as its Ensemble does, with a warning): no _meta.yaml or no config.network. */
export interface SkippedMember {
  readonly dir: string;
  readonly reason: string;
}

export interface EnsembleDirView {
  /** flyvis's name: the last two path components ('opticflow/000'). */
  readonly name: string;
  readonly dir: string;
  /** Members in flyvis's order: by folder name. */
  readonly members: readonly EnsembleMember[];
  readonly skipped: readonly SkippedMember[];
  /** A member by position or by id ('0007') or name ('opticflow/000/0007'); ResultsError when there is none. */
  member(key: number | string): EnsembleMember;
  /**
   * The `k` members (default all) with the lowest validation loss first, as numpy's argsort ranks
   * them (NaN after every number, members without a validation file last; ties in folder order).
   */
  bestMembers(k?: number): EnsembleMember[];
  /** Loads one member's network (loadNetworkDir). */
  loadNetwork(key: number | string, options?: LoadNetworkDirOptions): Promise<LoadedNetworkDir>;
  /**
   * Loads the members' networks one after the other (all, or those given), as flyvis's
   * yield_networks: one Network is built and each member's parameters are loaded into it in
   * turn, so a yielded network changes when the next is loaded (copy what you keep, e.g.
   * `network.stateDict()`). A member with another config gets a network of its own.
   */
  networks(options?: Omit<LoadNetworkDirOptions, 'reuse'> & { members?: readonly (number | string)[] }): AsyncGenerator<LoadedNetworkDir>;
}

export interface LoadEnsembleDirOptions {
  /** Receives a warning for each numbered subfolder skipped (default: process.emitWarning). */
  readonly onWarning?: (message: string) => void;
}

/**
 * Reads an ensemble directory: its members (numbered subfolders holding a network directory) in
 * folder order with their validation losses. Throws ResultsError naming the directory when it is
 * missing, empty or foreign, a network directory rather than an ensemble, or has no members, and
 * naming a member whose _meta.yaml says something other than NetworkDir; Hdf5Error for a member's
 * unreadable validation file. Numbered subfolders without _meta.yaml or config.network are
 * skipped with a warning, as flyvis skips them.
 */
export async function loadEnsembleDir(dir: string, options: LoadEnsembleDirOptions = {}): Promise<EnsembleDirView> {
  const root = resolve(dir);
  const meta = readMeta(root);
  if (meta === null) throw new ResultsError(root, describeForeignDir(root));
  if (meta.type === 'NetworkDir') throw new ResultsError(root, 'is a network directory (_meta.yaml says NetworkDir), not an ensemble: load it with loadNetworkDir');
  if (meta.type !== 'EnsembleDir') throw new ResultsError(meta.file, `config.type is "${meta.type}", expected "EnsembleDir" (a flyvis ensemble directory)`);

  const warn = options.onWarning ?? ((m: string) => process.emitWarning(m, 'EnsembleWarning'));
  const ids = listDir(root).filter((n) => isMemberName(n) && pathKind(join(root, n)) === 'dir').sort(compareCodePoints);
  const members: EnsembleMember[] = [];
  const skipped: SkippedMember[] = [];
  for (const id of ids) {
    const memberDir = join(root, id);
    const m = readMeta(memberDir);
    const reason = m === null ? 'no _meta.yaml' : m.type === 'NetworkDir' && (m.config.network === null || typeof m.config.network !== 'object') ? '_meta.yaml has no config.network' : undefined;
    if (reason !== undefined) {
      skipped.push({ dir: memberDir, reason });
      warn(`${memberDir}: skipped (${reason}), as flyvis's Ensemble skips it`);
      continue;
    }
    if (m!.type !== 'NetworkDir') throw new ResultsError(m!.file, `config.type is "${m!.type}", expected "NetworkDir" (member ${id} of ensemble ${root})`);
    const v = await memberValidation(memberDir);
    members.push({
      name: resultsName(memberDir, 3),
      id,
      dir: memberDir,
      layout: v.layout,
      validationLoss: v.values === null ? null : numpyMin(v.values),
      validationFile: v.file,
    });
  }
  if (members.length === 0) {
    const why = ids.length === 0 ? 'no numbered member folders' : `no member folder holds a network (${skipped.length} skipped)`;
    throw new ResultsError(root, `ensemble directory without members: ${why}`);
  }

  const member = (key: number | string): EnsembleMember => {
    const found = typeof key === 'number' ? members.at(Number.isInteger(key) && key >= -members.length ? key : members.length) : members.find((m) => m.id === key || m.name === key);
    if (found === undefined) {
      const what = typeof key === 'number' ? `position ${key} (0 to ${members.length - 1})` : `"${key}"`;
      throw new ResultsError(root, `no member ${what}; members: ${members[0]!.id} to ${members.at(-1)!.id}`);
    }
    return found;
  };
  const view: EnsembleDirView = {
    name: resultsName(root, 2),
    dir: root,
    members,
    skipped,
    member,
    bestMembers(k = members.length) {
      return rankByLoss(members.map((m) => m.validationLoss)).slice(0, Math.max(0, k)).map((i) => members[i]!);
    },
    loadNetwork(key, opts = {}) {
      return loadNetworkDir(member(key).dir, opts);
    },
    async *networks(opts = {}) {
      const { members: which, ...rest } = opts;
      const chosen = which === undefined ? members : which.map(member);
      let reuse: LoadedNetworkDir['network'] | undefined;
      for (const m of chosen) {
        const loaded = await loadNetworkDir(m.dir, { ...rest, ...(reuse ? { reuse } : {}) });
        reuse = loaded.network;
        yield loaded;
      }
    },
  };
  return view;
}
