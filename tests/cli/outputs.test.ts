// What every command shares about its outputs and arguments: outputs checked before any work,
// never replacing an input or a device, parents created only on success, self-describing
// activity (sidecars) that plot trusts, --dt as 0.02 or 1/50, what was written said on stdout,
// Ctrl-C saying what was kept.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, linkSync, mkdtempSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { runCommand, parseArgs, parseDt, setInterruptNote, UsageError } from '../../src/cli/args.ts';
import { plotSettings, run as plot } from '../../src/cli/plot.ts';
import { run as runMain } from '../../src/cli/run.ts';
import { run as simulate } from '../../src/cli/simulate.ts';
import { demoConnectome, demoConnectomePath } from '../../src/graph/demo.ts';
import { npyHeader } from '../../src/io/npy-stream.ts';
import { encodeNpy, readNpy } from '../../src/io/npy.ts';
import { readSidecar, sidecarPath } from '../../src/io/sidecar.ts';
import { flyvisChild, inProcess } from './fit-helpers.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'flyvis-outputs-'));
const HEXALS_E1 = 7;
const N1 = demoConnectome(1).nodes.length;

function movieFile(dir: string, shape: number[], name = 'movie.npy'): string {
  const file = join(dir, name);
  const n = shape.reduce((a, b) => a * b, 1);
  writeFileSync(file, encodeNpy(Float32Array.from({ length: n }, (_, i) => 0.5 + 0.4 * Math.sin(i / 3)), shape));
  return file;
}

const oneLineRefusal = (r: { code: number; stderr: string }, pattern: RegExp | string): void => {
  expect(r.code).toBe(2);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  if (typeof pattern === 'string') expect(r.stderr.trim()).toBe(pattern);
  else expect(r.stderr).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\.tmp|ENOENT: no such|EISDIR: illegal/);
};

describe('--dt', () => {
  it('accepts 0.02 and 1/50 alike and echoes bad values as typed', () => {
    expect(parseDt('1/50')).toBe(0.02);
    expect(parseDt('0.005')).toBe(0.005);
    expect(parseDt(' 1 / 200 ')).toBe(1 / 200);
    for (const bad of ['1e400', '0', '-1', '1/0', '0x10', '', 'abc', '1/2/3', '1e-400/1']) {
      expect(() => parseDt(bad)).toThrow(`--dt: expected a positive time step in seconds such as 0.005 or 1/200, got '${bad}'`);
    }
    const { options } = parseArgs(['--dt', '1/100'], { dt: { type: 'dt', help: '' } } as const);
    expect(options.dt).toBe(0.01);
    expect(() => parseArgs(['--x', '1e400'], { x: { type: 'number', help: '' } } as const)).toThrow("--x: expected a finite number, got '1e400'");
    expect(() => parseArgs(['--x', '1e308'], { x: { type: 'number', help: '', min: 0, max: 3.4e38 } } as const)).toThrow(
      "--x: expected a finite number from 0 to 3.4e+38, got '1e308'",
    );
  });
});

describe('flyvis simulate outputs', () => {
  it('says what it wrote, with a sidecar; chunks and fractions give the same bytes as one pass', async () => {
    const dir = tmp();
    const movie = movieFile(dir, [2, 9, 1, HEXALS_E1]);
    const a = join(dir, 'a.npy');
    const r = await inProcess(simulate, '--extent', '1', '--movie', movie, '--dt', '0.02', '--t-pre', '0.1', '--out', a);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`flyvis simulate: wrote ${a} (float32, shape (2, 9, ${N1}), dt 0.02 s, t_pre 0.1 s); description in ${a}.json\n`);
    const s = readSidecar(a, readNpy(a).shape)!;
    expect(s).toMatchObject({
      producer: 'flyvis simulate', connectome: demoConnectomePath, connectome_name: 'demo-connectome', extent: 1, n_syn_fill: 1, params: 'default', dt: 0.02, t_pre: 0.1, shape: [2, 9, N1],
      frame_times: { first_s: 0.02, step_s: 0.02, count: 9 }, movie,
    });
    expect(s.node_order.n_nodes).toBe(N1);
    const b = join(dir, 'b.npy');
    const r2 = await inProcess(simulate, '--extent', '1', '--movie', movie, '--dt', '1/50', '--t-pre', '0.1', '--out', b, '--chunk-frames', '4');
    // Three chunks: progress from the start, and at the end.
    expect(r2.stderr).toMatch(/^flyvis simulate: 18 frames \(0 MB of activity\), streamed to disk in chunks\n(.*\n)*flyvis simulate: 18\/18 frames \(100\.0%\)  left 0\.0s\n$/);
    expect(readFileSync(b).equals(readFileSync(a))).toBe(true);
    // The streamed header is encodeNpy's.
    const whole = encodeNpy(readNpy(a).data, [2, 9, N1]);
    expect(Buffer.from(npyHeader([2, 9, N1])).equals(Buffer.from(whole.subarray(0, npyHeader([2, 9, N1]).length)))).toBe(true);
  });

  it('refuses outputs that are inputs, empty, directories, or under a file, before any work and without debris', async () => {
    const dir = tmp();
    const movie = movieFile(dir, [1, 3, 1, HEXALS_E1], 'm.npy');
    const before = readFileSync(movie);
    symlinkSync(movie, join(dir, 'link.npy'));
    linkSync(movie, join(dir, 'hard.npy'));
    writeFileSync(join(dir, 'plain'), 'x');
    const sim = (out: string, ...more: string[]) => inProcess(simulate, '--extent', '1', '--movie', movie, '--dt', '0.02', '--out', out, ...more);
    for (const out of [movie, join(dir, 'link.npy'), join(dir, 'hard.npy')]) {
      oneLineRefusal(await sim(out), `flyvis simulate: --out: ${out} is the same file as --movie ${movie}; an output must not replace an input`);
    }
    oneLineRefusal(await sim(''), "flyvis simulate: --out: expected a file name, got ''");
    oneLineRefusal(await sim(dir), `flyvis simulate: --out: ${dir} is a directory, expected a file name (e.g. ${join(dir, 'activity.npy')})`);
    const under = join(dir, 'plain', 'x.npy');
    oneLineRefusal(await sim(under), `flyvis simulate: --out: ${under}: ${join(dir, 'plain')} is a regular file, expected a folder`);
    // A bad movie with an output in a missing folder: the folder is not created.
    oneLineRefusal(
      await inProcess(simulate, '--extent', '1', '--movie', join(dir, 'nope.npy'), '--dt', '0.02', '--out', join(dir, 'new', 'x.npy')),
      /nope\.npy: cannot read/,
    );
    expect(readFileSync(movie).equals(before)).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['hard.npy', 'link.npy', 'm.npy', 'plain']);
    // A missing folder is created when the work succeeds.
    const deep = join(dir, 'new', 'deeper', 'x.npy');
    expect((await sim(deep)).code).toBe(0);
    expect(readNpy(deep).shape).toEqual([1, 3, N1]);
    expect(existsSync(sidecarPath(deep))).toBe(true);
  });

  it('writes into /dev/null and a named pipe in place (no sidecar), never replacing them', async () => {
    const dir = tmp();
    const movie = movieFile(dir, [1, 3, 1, HEXALS_E1]);
    const r = await inProcess(simulate, '--extent', '1', '--movie', movie, '--dt', '0.02', '--out', '/dev/null');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`flyvis simulate: wrote /dev/null (float32, shape (1, 3, ${N1}), dt 0.02 s, t_pre 1 s)\n`);
    expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
    expect(existsSync('/dev/null.json')).toBe(false);
    const fifo = join(dir, 'pipe');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const reader = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'inherit'] });
    const chunks: Buffer[] = [];
    reader.stdout.on('data', (b: Buffer) => chunks.push(b));
    const closed = new Promise((res) => reader.on('close', res));
    expect((await inProcess(simulate, '--extent', '1', '--movie', movie, '--dt', '0.02', '--out', fifo)).code).toBe(0);
    await closed;
    const reference = join(dir, 'ref.npy');
    await inProcess(simulate, '--extent', '1', '--movie', movie, '--dt', '0.02', '--out', reference);
    expect(Buffer.concat(chunks).equals(readFileSync(reference))).toBe(true);
    expect(statSync(fifo).isFIFO()).toBe(true);
  });

  it('names the movie when it has no frames or no samples', async () => {
    const dir = tmp();
    for (const shape of [[1, 0, 1, HEXALS_E1], [0, 3, 1, HEXALS_E1]]) {
      const movie = movieFile(dir, shape, `m${shape[0]}${shape[1]}.npy`);
      oneLineRefusal(
        await inProcess(simulate, '--extent', '1', '--movie', movie, '--dt', '0.02', '--out', join(dir, 'o.npy')),
        `flyvis simulate: ${movie}: movie has shape (${shape.join(', ')}), expected at least one sample and one frame`,
      );
    }
  });

  it('Ctrl-C between chunks: says nothing was written, exits 130, leaves nothing behind', async () => {
    const dir = tmp();
    const movie = movieFile(dir, [1, 20000, 1, HEXALS_E1]);
    const out = join(dir, 'a.npy');
    const child = flyvisChild('simulate', '--extent', '1', '--movie', movie, '--dt', '0.02', '--t-pre', '0', '--chunk-frames', '1', '--out', out);
    let stderr = '';
    const exited = new Promise<number | null>((res) => child.on('close', res));
    await new Promise<void>((res) => {
      child.stderr.on('data', (b: Buffer) => {
        stderr += b.toString();
        if (stderr.includes('streamed to disk in chunks')) res();
      });
    });
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr.trim().split('\n').at(-1)).toBe('flyvis simulate: interrupted; nothing was written');
    expect(readdirSync(dir)).toEqual(['movie.npy']);
  }, 30_000);
});

describe('Ctrl-C during any command', () => {
  it('prints what was kept and exits 130', async () => {
    const exit = vi.spyOn(process, 'exit').mockImplementation(((code: number) => {
      throw new Error(`exit ${code}`);
    }) as never);
    let stderr = '';
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(((c: string) => ((stderr += c), true)) as never);
    try {
      await expect(
        runCommand('fit', () => {
          setInterruptNote('the checkpoint of iteration 3 in fit.json is kept');
          process.emit('SIGINT', 'SIGINT');
          return 0;
        }),
      ).resolves.toBe(1); // the mocked exit throws inside the body
      expect(exit).toHaveBeenCalledWith(130);
      expect(stderr.split('\n')[0]).toBe('flyvis fit: interrupted; the checkpoint of iteration 3 in fit.json is kept');
      // The default, and the handler is gone after the command.
      stderr = '';
      await runCommand('simulate', () => {
        process.emit('SIGINT', 'SIGINT');
        return 0;
      });
      expect(stderr.split('\n')[0]).toBe('flyvis simulate: interrupted; nothing was written');
      expect(process.listenerCount('SIGINT')).toBe(0);
    } finally {
      exit.mockRestore();
      write.mockRestore();
    }
  });

  it('UsageError is still exit 2', async () => {
    expect(await runCommand('x', () => {
      throw new UsageError('--y: bad');
    }).then((c) => c)).toBe(2);
  });
});

describe('flyvis run and flyvis plot: self-describing activity', () => {
  it('run titles the plot with the connectome file name, writes a sidecar, creates its folder only on success', async () => {
    const dir = tmp();
    const connectome = join(dir, 'my-circuit.json');
    copyFileSync(demoConnectomePath, connectome);
    const bad = await inProcess(runMain, '--extent', '1', '--connectome', connectome, '--out-dir', join(dir, 'bad', 'run'), '--types', 'Nope');
    expect(bad.code).toBe(2);
    expect(existsSync(join(dir, 'bad'))).toBe(false);
    const out = join(dir, 'new', 'run');
    const r = await inProcess(runMain, '--extent', '1', '--connectome', connectome, '--out-dir', out, '--dt', '1/100', '--grey', '0.05', '--on', '0.1', '--off', '0.1');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`description: ${join(out, 'activity.npy.json')}`);
    expect(readFileSync(join(out, 'responses.svg'), 'utf8')).toContain('Flash responses (my-circuit, extent 1;');
    const s = readSidecar(join(out, 'activity.npy'))!;
    expect(s).toMatchObject({ producer: 'flyvis run', connectome, connectome_name: 'my-circuit', extent: 1, dt: 0.01, shape: [1, 25, N1] });

    // plot takes extent, connectome and dt from the sidecar: no flags needed, no warning.
    const settings = plotSettings({ activity: join(out, 'activity.npy') }, s);
    expect(settings).toMatchObject({ dt: 0.01, t0: 0.01, warning: undefined });
    expect(settings.connectome.nodes.length).toBe(N1);
    const traces = join(dir, 't.svg');
    const p = await inProcess(plot, '--activity', join(out, 'activity.npy'), '--traces', traces);
    expect(p).toMatchObject({ code: 0, stderr: '', stdout: `${traces}\n` });
    // A contradicting flag is refused, naming the run that wrote the file.
    for (const [flag, value] of [['--dt', '0.02'], ['--extent', '2'], ['--n-syn-fill', '2']] as const) {
      const c = await inProcess(plot, '--activity', join(out, 'activity.npy'), '--traces', join(dir, 'c.svg'), flag, value);
      oneLineRefusal(c, new RegExp(`^flyvis plot: ${flag} ${value} contradicts ${join(out, 'activity.npy.json')}: .*activity\\.npy was written by flyvis run on .* \\(connectome my-circuit, extent 1, n_syn_fill 1, dt 0\\.01 s\\); drop ${flag}`));
    }
    const matching = await inProcess(plot, '--activity', join(out, 'activity.npy'), '--traces', join(dir, 'm.svg'), '--dt', '1/100', '--extent', '1', '--connectome', demoConnectomePath);
    expect(matching.code).toBe(0);
    expect(existsSync(join(dir, 'c.svg'))).toBe(false);
    // A sidecar that belongs to another array is refused.
    writeFileSync(join(dir, 'other.npy'), encodeNpy(new Float32Array(N1 * 3), [1, 3, N1]));
    copyFileSync(join(out, 'activity.npy.json'), join(dir, 'other.npy.json'));
    oneLineRefusal(await inProcess(plot, '--activity', join(dir, 'other.npy'), '--traces', join(dir, 'o.svg')), new RegExp(`describes an array of shape \\(1, 25, ${N1}\\) but .*other\\.npy has shape \\(1, 3, ${N1}\\)`));
  }, 30_000);

  it('without a sidecar plot uses the flags, warning about assumed defaults', () => {
    const s = plotSettings({ activity: 'x.npy', connectome: 'demo', extent: 1 }, undefined);
    expect(s.dt).toBe(0.02);
    expect(s.connectome.nodes.length).toBe(demoConnectome(1).nodes.length);
    expect(s.warning).toBe('x.npy has no sidecar (x.npy.json); assuming --dt 0.02 (give them to silence this)');
    expect(plotSettings({ activity: 'x.npy', connectome: 'demo', extent: 1, dt: 0.01 }, undefined).warning).toBeUndefined();
    // Without --connectome: flyvis's, the commands' default, and the warning says so.
    const d = plotSettings({ activity: 'x.npy', extent: 1, dt: 0.01 }, undefined);
    expect(d.connectome.nodes.length).toBe(443); // flyvis's graph at extent 1 (../shared/golden/connectome_extents.json)
    expect(d.warning).toBe('x.npy has no sidecar (x.npy.json); assuming --connectome fib25-fib19_v2.2.json (give them to silence this)');
  });

  it('refuses --traces and --frame-out naming the same file', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'a.npy'), encodeNpy(new Float32Array(N1 * 3), [1, 3, N1]));
    const same = join(dir, 'p.svg');
    oneLineRefusal(
      await inProcess(plot, '--activity', join(dir, 'a.npy'), '--extent', '1', '--traces', same, '--frame-out', join(dir, '.', 'p.svg')),
      `flyvis plot: --frame-out ${join(dir, '.', 'p.svg')} and --traces ${same} are the same file; expected different outputs`,
    );
    expect(readdirSync(dir)).toEqual(['a.npy']);
  });

  it('names the activity file when it has no frames', async () => {
    const dir = tmp();
    const empty = join(dir, 'empty.npy');
    writeFileSync(empty, encodeNpy(new Float32Array(0), [1, 0, N1]));
    oneLineRefusal(
      await inProcess(plot, '--activity', empty, '--extent', '1', '--dt', '0.02', '--traces', join(dir, 't.svg')),
      `flyvis plot: --activity ${empty}: has shape (1, 0, ${N1}), expected at least one frame`,
    );
  });
});
