// Shared by the fit / plot / run command tests: spawning a command, and a teacher network
// (perturbed parameters) with its activity on the demo connectome.
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Tensor, noGrad, tensor } from '../../src/autograd/index.ts';
import { compileConnectome } from '../../src/graph/compile.ts';
import { demoConnectomePath } from '../../src/graph/demo.ts';
import { loadConnectomeSpec } from '../../src/graph/load.ts';
import { Xoshiro128 } from '../../src/init/index.ts';
import { encodeNpy } from '../../src/io/npy.ts';
import { Network } from '../../src/network/network.ts';
import { networkProjection, simulateActivity } from '../../src/train/index.ts';
import { PROJECT_DIR, onDemo } from '../helpers/shared.ts';

/** Runs `flyvis <command> ...` as a user does (node bin/flyvis.mjs). */
export const flyvis = (command: string, ...args: string[]) => {
  const r = spawnSync(process.execPath, ['bin/flyvis.mjs', command, ...onDemo(args)], { cwd: PROJECT_DIR, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

/** Starts `flyvis <command> ...` in the background. */
export const flyvisChild = (command: string, ...args: string[]) =>
  spawn(process.execPath, ['bin/flyvis.mjs', command, ...onDemo(args)], { cwd: PROJECT_DIR, stdio: ['ignore', 'pipe', 'pipe'] });

export const DT = 0.02;

export interface Teacher {
  readonly net: Network;
  readonly extent: number;
  readonly hexals: number;
  readonly teacher: Record<string, Tensor>;
  /** Float32 movie (batch, frames, 1, hexals), uniform noise. */
  movie(seed: number, batch: number, frames: number): { data: Float32Array; shape: number[] };
  /** Activity of parameters (default: the teacher's) for a movie, float32 (batch, frames, n_nodes). */
  activity(movie: { data: Float32Array; shape: number[] }, params?: Record<string, Tensor>): Float32Array;
  writeMovie(file: string, movie: { data: Float32Array; shape: number[] }): string;
  writeTarget(file: string, data: Float32Array, shape: number[]): string;
}

/** A demo-connectome network whose trainable parameters are perturbed from flyvis's defaults (clamped). */
export function makeTeacher(extent = 2, connectome = demoConnectomePath, seed = 1): Teacher {
  const net = Network.fromConnectome(compileConnectome(loadConnectomeSpec(connectome), extent, 1));
  const rng = new Xoshiro128(seed);
  const u = () => rng.nextUint32() / 2 ** 32;
  const defaults = net.trainableParams();
  const perturbed = Object.fromEntries(
    Object.entries(defaults).map(([k, t]) => [
      k,
      tensor(t.data.map((x) => (k === 'nodes_bias' ? x + 0.3 * (u() - 0.5) : x * Math.exp(0.5 * (u() - 0.5)))), t.shape),
    ]),
  );
  const teacher = networkProjection(net)(perturbed);
  const hexals = net.stimulus.nInputElements;
  return {
    net,
    extent,
    hexals,
    teacher,
    movie(s, batch, frames) {
      const g = new Xoshiro128(s);
      return { data: Float32Array.from({ length: batch * frames * hexals }, () => g.nextUint32() / 2 ** 32), shape: [batch, frames, 1, hexals] };
    },
    activity(movie, params = teacher) {
      return noGrad(() => simulateActivity(net, params, movie, DT)).data as Float32Array;
    },
    writeMovie(file, movie) {
      writeFileSync(file, encodeNpy(movie.data, movie.shape));
      return file;
    },
    writeTarget(file, data, shape) {
      writeFileSync(file, encodeNpy(data, shape));
      return file;
    },
  };
}

/** Mean squared error over entries where `target` is not NaN. */
export function mse(prediction: ArrayLike<number>, target: ArrayLike<number>): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < target.length; i++) {
    if (Number.isNaN(target[i]!)) continue;
    s += (prediction[i]! - target[i]!) ** 2;
    n++;
  }
  return s / n;
}

export const lastJsonLine = (stdout: string): Record<string, number> => JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, number>;

export const joinTmp = (dir: string, name: string): string => join(dir, name);

/** Runs a command module's run() in this process, capturing what it writes (fast: no process start). */
export async function inProcess(run: (argv: readonly string[]) => Promise<number>, ...args: string[]) {
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write;
  const err = process.stderr.write;
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
  try {
    const code = await run(onDemo(args));
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}
