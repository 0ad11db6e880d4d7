// Input files are read with size limits (issue 12, item 11): a device such as /dev/zero is
// refused outright, a regular file above its limit from its size, an endless pipe once it runs
// past the limit; deep nesting is reported naming the file; and through the CLI every such
// input exits 2 with one line and no output file.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { setBudget } from '../../src/budget.ts';
import { compileConnectome } from '../../src/graph/compile.ts';
import { demoConnectomePath } from '../../src/graph/demo.ts';
import { ConnectomeError, loadConnectomeSpec } from '../../src/graph/load.ts';
import { CheckpointError } from '../../src/init/index.ts';
import { JsonFileError, MAX_JSON_BYTES, readJsonFile } from '../../src/io/json.ts';
import { encodeNpy, NpyError, readNpy } from '../../src/io/npy.ts';
import { BoundedReadError, readFileBounded } from '../../src/io/read-bounded.ts';
import { NetworkConfigError, readNetworkConfig } from '../../src/network/config-file.ts';
import { Network } from '../../src/network/network.ts';
import { PROJECT_DIR, onDemo } from '../helpers/shared.ts';
import { readPng } from '../../src/stimuli/png.ts';
import { StimulusParamError } from '../../src/stimuli/errors.ts';
import { SidecarError, readSidecar } from '../../src/io/sidecar.ts';
import { TrainStateError, readTrainState } from '../../src/train/state.ts';

const dir = mkdtempSync(join(tmpdir(), 'flyvis-inputs-'));
const write = (name: string, data: string | Uint8Array): string => {
  const file = join(dir, name);
  writeFileSync(file, data);
  return file;
};
const hasDevZero = existsSync('/dev/zero');

/** The error `f` throws, which must be an instance of `cls`. */
function errorOf<E extends Error>(cls: abstract new (...a: never[]) => E, f: () => unknown): E {
  try {
    f();
  } catch (e) {
    if (e instanceof cls) return e;
    throw e;
  }
  throw new Error(`expected a ${cls.name}`);
}

afterEach(() => setBudget({}));

describe('bounded reads', () => {
  it('reads a file within its limit byte for byte', () => {
    const bytes = Uint8Array.from({ length: 3000 }, (_, i) => (i * 7) % 256);
    expect(readFileBounded(write('ok.bin', bytes), 3000, 'test input')).toEqual(bytes);
  });

  it('refuses a regular file above the limit from its size, with both numbers', () => {
    const file = write('big.json', `[${'0,'.repeat(1500)}0]`);
    const e = errorOf(JsonFileError, () => readJsonFile(file, 1000));
    expect(e.problem).toBe('too-large');
    expect(e.message).toBe(`${file}: 3 kB (3003 bytes), above the limit of 1 kB for JSON input`);
    expect(MAX_JSON_BYTES).toBe(256e6);
  });

  it.skipIf(!hasDevZero)('refuses /dev/zero as a connectome, JSON, .npy, config or checkpoint, naming it', () => {
    expect(errorOf(JsonFileError, () => readJsonFile('/dev/zero')).message).toBe('/dev/zero: not a regular file (a character device)');
    expect(errorOf(ConnectomeError, () => loadConnectomeSpec('/dev/zero')).message).toBe('connectome file /dev/zero: not a regular file (a character device)');
    expect(errorOf(NpyError, () => readNpy('/dev/zero')).message).toBe('/dev/zero: not a regular file (a character device)');
    expect(errorOf(NetworkConfigError, () => readNetworkConfig('/dev/zero')).message).toBe('/dev/zero: not a regular file (a character device)');
    const net = Network.fromConnectome(compileConnectome(loadConnectomeSpec(demoConnectomePath), 1));
    expect(errorOf(CheckpointError, () => net.loadCheckpoint('/dev/zero')).message).toContain('/dev/zero: not a regular file (a character device)');
  });

  it('names a directory and keeps the contract messages for a missing file', () => {
    expect(errorOf(JsonFileError, () => readJsonFile(dir)).message).toBe(`${dir}: cannot read (EISDIR)`);
    expect(errorOf(NpyError, () => readNpy(join(dir, 'absent.npy'))).message).toBe(`${join(dir, 'absent.npy')}: cannot read (ENOENT)`);
    expect(errorOf(JsonFileError, () => readJsonFile(join(dir, 'absent.json'))).problem).toBe('missing');
  });

  it.skipIf(process.platform === 'win32')('stops reading an endless pipe at the limit', async () => {
    const fifo = join(dir, 'endless.fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const writer = spawn('sh', ['-c', `exec yes flyvis > '${fifo}'`], { stdio: 'ignore' });
    try {
      const e = errorOf(BoundedReadError, () => readFileBounded(fifo, 1e6, 'test input'));
      expect(e.problem).toBe('too-large');
      expect(e.message).toBe(`${fifo}: more than 1 MB, above the limit of 1 MB for test input`);
    } finally {
      writer.kill();
    }
  });

  it('refuses a .npy file above the memory budget, saying which budget and how to raise it', () => {
    const file = write('movie.npy', encodeNpy(new Float32Array(100), [100]));
    setBudget({ maxMemoryBytes: 300 });
    expect(errorOf(NpyError, () => readNpy(file)).message).toBe(
      `${file}: 528 bytes, above the limit of 300 bytes for .npy input (the memory budget; raise it with FLYVIS_MAX_MEMORY_GB or --max-memory)`,
    );
    setBudget({});
    expect(readNpy(file).shape).toEqual([100]);
  });
});

describe('deep nesting', () => {
  const deep = (n: number): string => '['.repeat(n) + ']'.repeat(n);

  it('a deeply nested connectome entry is one problem naming the file, with a short preview', () => {
    const file = write('deep-connectome.json', `{"nodes": ${deep(200_000)}, "edges": [], "input_units": [], "output_units": []}`);
    const e = errorOf(ConnectomeError, () => loadConnectomeSpec(file));
    expect(e.problems).toEqual([`nodes[0]: expected an object with name and pattern, got ${'['.repeat(57)}...`]);
    expect(e.message.startsWith(`connectome file ${file}: nodes[0]`)).toBe(true);
  });

  it('a deeply nested config (JSON or YAML) is refused naming the file', () => {
    const json = write('deep.json', `{"network": {"connectome": ${deep(100_000)}}}`);
    expect(errorOf(NetworkConfigError, () => readNetworkConfig(json)).message).toBe(`${json}: nested more than 64 levels deep (flyvis's configs nest 4 or 5)`);
    const yaml = write('deep.yaml', deep(5000));
    expect(errorOf(NetworkConfigError, () => readNetworkConfig(yaml)).message).toMatch(new RegExp(`^${yaml}: `));
  });
});

describe('through the CLI: exit 2, one line, no output', () => {
  const movie = write('m.npy', encodeNpy(new Float32Array(2 * 7).fill(0.5), [1, 2, 1, 7]));
  const flyvis = (...args: string[]) => spawnSync(process.execPath, ['bin/flyvis.mjs', ...onDemo(args)], { cwd: PROJECT_DIR, encoding: 'utf8' });

  const cases: [string, string[], RegExp][] = [
    ['--extent 100000', ['--extent', '100000', '--dt', '0.01'], /^flyvis simulate: extent 100000: 14 cell types on 3\.0e10 lattice points give up to 4\.2e11 nodes \(about [0-9.]+ TB\), above the memory budget of [0-9.]+ [GTM]B; raise it with FLYVIS_MAX_MEMORY_GB=\d+ or --max-memory \d+\n$/],
    ['--dt 1e-9', ['--extent', '1', '--dt', '1e-9'], /^flyvis simulate: steady state \(t_pre 1 s at dt 1e-9 s\): 999,999,999 Euler steps, above the budget of 1,000,000 steps per call; raise it with FLYVIS_MAX_STEPS=1000000000 or --max-steps 1000000000\n$/],
    ...(hasDevZero ? ([['--params /dev/zero', ['--extent', '1', '--dt', '0.01', '--params', '/dev/zero'], /^flyvis simulate: .*\/dev\/zero: not a regular file \(a character device\)\n$/]] as [string, string[], RegExp][]) : []),
  ];
  for (const [name, args, message] of cases) {
    it(name, () => {
      const out = join(dir, `out-${name.replace(/\W+/g, '_')}`);
      mkdirSync(out, { recursive: true });
      const r = flyvis('simulate', '--movie', movie, '--out', join(out, 'activity.npy'), ...args);
      expect(r.stderr).toMatch(message);
      expect(r.status).toBe(2);
      expect(existsSync(join(out, 'activity.npy'))).toBe(false);
    });
  }
});

describe('commands that allocate before calling the library: refused first (exit 2, nothing written)', () => {
  const flyvis = (...args: string[]) => spawnSync(process.execPath, ['bin/flyvis.mjs', ...onDemo(args)], { cwd: PROJECT_DIR, encoding: 'utf8' });

  it('run --grey 1e9: the flash movie is sized before it is built', () => {
    const out = join(dir, 'run-grey');
    const r = flyvis('run', '--extent', '1', '--grey', '1e9', '--out-dir', out);
    expect(r.stderr).toMatch(/^flyvis run: flash \(100000000100 frames at dt 0\.01 s\): 1\.0e11 Euler steps, above the budget of 1,000,000 steps per call; raise it with FLYVIS_MAX_STEPS=\d+ or --max-steps \d+\n$/);
    expect(r.status).toBe(2);
    expect(existsSync(out)).toBe(false);
  });

  it('bench --steps 1e9: the input is sized before it is built', () => {
    const r = flyvis('bench', '--extent', '1', '--steps', '1000000000', '--json');
    expect(r.stderr).toMatch(/^flyvis bench: bench \(--steps 1000000000, --batch 1\): 1\.0e9 Euler steps, above the budget of 1,000,000 steps per call; raise it with FLYVIS_MAX_STEPS=\d+ or --max-steps \d+\n$/);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
  });

  it('info --extent 100000 and --n-syn-fill 1e308: exit 2 like every other command', () => {
    const big = flyvis('info', '--extent', '100000');
    expect(big.stderr).toMatch(/^flyvis info: extent 100000: .* above the memory budget of .*; raise it with FLYVIS_MAX_MEMORY_GB=\d+ or --max-memory \d+\n$/);
    expect(big.status).toBe(2);
    const fill = flyvis('info', '--n-syn-fill', '1e308');
    expect(fill.stderr).toBe("flyvis info: --n-syn-fill: expected a finite number from 0 to 3.4e+38, got '1e308'\n");
    expect(fill.status).toBe(2);
  });
});

describe('the other inputs are read with limits too', () => {
  it.runIf(hasDevZero)('a PNG frame, a sidecar and a training state that name /dev/zero are refused, naming it', () => {
    expect(() => readPng('/dev/zero')).toThrow(StimulusParamError);
    expect(() => readPng('/dev/zero')).toThrow('/dev/zero: not a regular file (a character device)');
    const activity = join(dir, 'dev-zero-sidecar.npy');
    const { symlinkSync } = require('node:fs') as typeof import('node:fs');
    symlinkSync('/dev/zero', `${activity}.json`);
    expect(() => readSidecar(activity)).toThrow(SidecarError);
    expect(() => readSidecar(activity)).toThrow('not a regular file (a character device)');
    expect(() => readTrainState('/dev/zero', undefined as never, {}, undefined as never)).toThrow(TrainStateError);
    expect(() => readTrainState('/dev/zero', undefined as never, {}, undefined as never)).toThrow('/dev/zero: not a regular file (a character device)');
  });
});
