// An ensemble member as a job: the `flyvis fit` or `flyvis train` command line that trains it
// (member k gets seed SEED + k, `{member}` in an option's value becomes its id, and --resume once
// it has a checkpoint), and what is written after it succeeds, so that ENSEMBLE_DIR/NNN is a
// flyvis network directory every loader reads (loadEnsembleDir, `analyze --ensemble`).
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeHdf5Dataset } from '../io/hdf5.ts';
import { TorchDict, TorchTensor } from '../io/torch/index.ts';
import { TRAIN_STATE_FILE, writeCheckpointFile } from '../task/train-results.ts';
import { stateDir } from './claims.ts';
import type { MemberJob } from './pool.ts';

export type EnsembleCommand = 'fit' | 'train';

/** What an ensemble runs, as recorded in .flyvis-ensemble/spec.json. */
export interface EnsembleSpec {
  readonly command: EnsembleCommand;
  readonly seed: number;
  /** The member command's options, as given (with `{member}` placeholders). */
  readonly args: readonly string[];
}

/** The member command's options with `{member}` replaced by the member's id. */
export const memberArgs = (args: readonly string[], id: string): string[] => args.map((a) => a.split('{member}').join(id));

/** The JSON object on the last line of a command's stdout ({} when there is none). */
export function lastJson(stdout: string): Record<string, unknown> {
  const line = stdout.trim().split('\n').at(-1) ?? '';
  try {
    const v = JSON.parse(line) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

const withProgress = (args: readonly string[]): string[] =>
  args.some((a) => a === '--progress-every' || a.startsWith('--progress-every=')) ? [...args] : [...args, '--progress-every', '1'];

/** The fitted parameters of a member: ENSEMBLE_DIR/NNN/fit.json (and fit.train.json, fit's training state). */
export const fitFile = (memberDir: string): string => join(memberDir, 'fit.json');

/**
 * A `flyvis fit` member. After the fit, the member folder becomes a flyvis 1.x network directory:
 * chkpts/chkpt_00000 (the fitted network as a torch checkpoint), validation/loss.h5 (the final
 * fit loss) and, last, _meta.yaml (config.network: the network the fit ran), so a half-written
 * member is skipped by the loaders, never read.
 */
export function fitJob(ensembleDir: string, id: string, index: number, spec: EnsembleSpec, network: Record<string, unknown>): MemberJob {
  const dir = join(ensembleDir, id);
  const out = fitFile(dir);
  // With a training state: continue it (exact resume); without: start (over a FIT.json without its state).
  const plan = (): string[] => [
    'fit', ...withProgress(memberArgs(spec.args, id)), '--seed', String(spec.seed + index), '--out', out, existsSync(join(dir, 'fit.train.json')) ? '--resume' : '--force',
  ];
  return {
    id,
    checkArgv: () => [...plan(), '--check'],
    argv() {
      mkdirSync(dir, { recursive: true });
      return plan();
    },
    async finish(stdout) {
      const summary = lastJson(stdout);
      const stateDict = JSON.parse(readFileSync(out, 'utf8')) as Record<string, number[]>;
      const tensors = Object.entries(stateDict).map(([k, v]): [string, TorchTensor] => [k, new TorchTensor('float32', [v.length], Float32Array.from(v))]);
      writeCheckpointFile(dir, 0, new TorchDict([['network', new TorchDict(tensors, true)], ['iteration', Number(summary.iteration ?? 0)]]));
      mkdirSync(join(dir, 'validation'), { recursive: true });
      const loss = typeof summary.final_loss === 'number' ? summary.final_loss : NaN;
      await writeHdf5Dataset(join(dir, 'validation', 'loss.h5'), [loss]);
      const meta = {
        config: {
          type: 'NetworkDir',
          ensemble_and_network_id: id,
          network_name: `${ensembleName(ensembleDir)}/${id}`,
          description: `flyvis-ts ensemble fit: member ${id}, seed ${spec.seed + index}`,
          network,
          fit: { args: memberArgs(spec.args, id), seed: spec.seed + index },
        },
        status: 'done',
      };
      const tmp = join(dir, `_meta.yaml.${process.pid}.tmp`);
      writeFileSync(tmp, `${JSON.stringify(meta)}\n`);
      renameSync(tmp, join(dir, '_meta.yaml'));
      return { final_loss: loss, initial_loss: summary.initial_loss ?? null, iteration: summary.iteration ?? null, status: summary.status ?? null };
    },
  };
}

/**
 * A `flyvis train` member: ENSEMBLE_DIR/NNN is train's own results directory (flyvis 1.x's
 * layout). A member folder without train's run state holds no checkpoint yet (a run stopped
 * before its first save): it is started again from the beginning.
 */
export function trainJob(ensembleDir: string, id: string, index: number, spec: EnsembleSpec): MemberJob {
  const dir = join(ensembleDir, id);
  const plan = (resume: boolean, out: string): string[] =>
    ['train', ...withProgress(memberArgs(spec.args, id)), '--seed', String(spec.seed + index), '--out', out, ...(resume ? ['--resume'] : [])];
  return {
    id,
    checkArgv() {
      const resume = existsSync(join(dir, TRAIN_STATE_FILE));
      // A member folder without a run state is removed before the member starts: check a folder that does not exist instead.
      return [...plan(resume, !resume && existsSync(dir) ? join(stateDir(ensembleDir), `${id}.check`) : dir), '--check'];
    },
    argv() {
      const resume = existsSync(join(dir, TRAIN_STATE_FILE));
      if (!resume && existsSync(dir)) rmSync(dir, { recursive: true, force: true });
      return plan(resume, dir);
    },
    async finish(stdout) {
      return lastJson(stdout);
    },
  };
}

/** flyvis's name of an ensemble: its folder's last component. */
function ensembleName(dir: string): string {
  return dir.replace(/[/\\]+$/, '').split(/[/\\]/).at(-1) ?? dir;
}
