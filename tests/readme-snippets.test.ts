// Every TypeScript block of README.md and docs/*.md, run as written (the stated values
// `expression; // VALUE` checked), the way a user meets them:
//   - from a project that installed the packed tarball (npm pack, then npm install from npm's
//     cache), as an ES module consumer, and type-checked against the packed declarations;
//   - as a CommonJS consumer of the same install (require, and the README's first block through
//     tsx in a "type": "commonjs" project), with no warning printed;
//   - from the clone, importing the package by its name;
// and the installed `flyvis` command, which runs the compiled dist/.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSnippetModules } from './package/snippets.ts';

const PROJECT_DIR = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
const TSX = join(PROJECT_DIR, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const TSC = join(PROJECT_DIR, 'node_modules', 'typescript', 'bin', 'tsc');

interface Ran {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command without blocking the test worker (a long spawnSync starves vitest's RPC). */
function run(cmd: string, args: readonly string[], cwd: string): Promise<Ran> {
  // No inherited NODE_OPTIONS (vitest's loaders) and no npm config from the test runner's npm.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_OPTIONS' && !k.startsWith('npm_')));
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', fail);
    child.on('close', (status) => done({ status, stdout, stderr }));
  });
}

const explain = (r: Ran): string => `exit ${r.status}\n--- stdout\n${r.stdout.slice(-4000)}\n--- stderr\n${r.stderr.slice(-4000)}`;

/** Runs the snippet modules in `dir` and checks that every block ran and every stated value held. */
async function runSnippets(dir: string): Promise<void> {
  const written = writeSnippetModules(PROJECT_DIR, dir);
  const r = await run(process.execPath, [TSX, 'run-snippets.mjs'], dir);
  expect(r.status, explain(r)).toBe(0);
  for (const s of written.snippets) expect(r.stdout, `${s.origin} did not run to its end`).toContain(`snippet ok ${s.origin}\n`);
  expect(r.stdout).toContain(`snippet checks ${written.checks}\n`);
}

// The same computation through require() and import: flyvis's connectome found by its bare name
// in the package's data/, a flash simulated, the activity summed.
const PROBE = `
const net = f.Network.fromConnectome(f.ConnectomeFromAvgFilters('fib25-fib19_v2.2.json', 2));
const H = net.stimulus.nInputElements;
const movie = { data: Float32Array.from({ length: 6 * H }, (_, i) => (i < 3 * H ? 0.5 : 1)), shape: [1, 6, 1, H] };
const a = net.simulate(movie, 1 / 50);
let sum = 0;
for (const x of a.data) sum += x;
const svg = await f.renderSVG({ data: { values: [{ x: 1, y: 2 }] }, mark: 'point', encoding: { x: { field: 'x', type: 'quantitative' } } });
console.log(JSON.stringify({ nNodes: net.nNodes, shape: a.shape, sum, svg: svg.startsWith('<svg'), exports: Object.keys(f).length }));
`;

describe('README and docs snippets, from a packed tarball and from the clone', () => {
  let work = '';
  let consumer = '';
  let packed: string[] = [];
  let installOutput = '';
  const cloneDir = join(PROJECT_DIR, `.snippet-run-${process.pid}`);

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'flyvis-package-'));
    // npm pack runs prepack (node scripts/build.mjs): dist/ is rebuilt from the current src/.
    const pack = await run('npm', ['pack', '--json', '--pack-destination', work], PROJECT_DIR);
    if (pack.status !== 0) throw new Error(`npm pack failed: ${explain(pack)}`);
    const info = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
    packed = info[0]!.files.map((f) => f.path);
    consumer = join(work, 'consumer');
    mkdirSync(consumer);
    // A fresh project with npm's defaults: no "type" field, i.e. CommonJS.
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
    const install = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(work, info[0]!.filename)], consumer);
    if (install.status !== 0) throw new Error(`npm install of the tarball failed: ${explain(install)}`);
    installOutput = install.stdout + install.stderr;
  }, 300_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
    rmSync(cloneDir, { recursive: true, force: true });
  });

  it('packs what a consumer needs and installs quietly', () => {
    for (const f of ['package.json', 'README.md', 'bin/flyvis.mjs', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'dist/cjs/index.js',
      'dist/cjs/index.d.ts', 'dist/cjs/package.json', 'dist/core.js', 'dist/core.d.ts', 'dist/flyvis-kernels.wasm', 'data/fib25-fib19_v2.2.json', 'data/LICENSE-flyvis', 'data/README.md', 'data/demo-connectome.json']) {
      expect(packed, f).toContain(f);
    }
    expect(packed.filter((f) => /^(src|tests|scripts|property-tests|bench|docs)\//.test(f))).toEqual([]);
    expect(installOutput).not.toMatch(/EBADENGINE|install-scripts|ERR/);
  });

  it('runs every block as an ES module consumer of the installed package', async () => {
    const dir = join(consumer, 'esm');
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    await runSnippets(dir);
    // The wasm kernel came built in the package (dist/flyvis-kernels.wasm; docs/platform.md's block
    // states that it is available): nothing compiled on first use, and no compiler installed.
    expect(existsSync(join(consumer, 'node_modules', '.cache', 'flyvis-ts'))).toBe(false);
    expect(existsSync(join(consumer, 'node_modules', 'assemblyscript'))).toBe(false);
  }, 180_000);

  it('type-checks every block against the packed declarations (strict)', async () => {
    const dir = join(consumer, 'esm');
    expect(existsSync(join(dir, 'run-snippets.mjs'))).toBe(true);
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022'], strict: true, noUncheckedIndexedAccess: true,
        noEmit: true, skipLibCheck: true, types: ['node'], typeRoots: [join(PROJECT_DIR, 'node_modules', '@types')],
      },
      include: ['*.ts'],
    }));
    const r = await run(process.execPath, [TSC, '-p', join(dir, 'tsconfig.json')], dir);
    expect(r.status, explain(r)).toBe(0);
  }, 120_000);

  it('serves a CommonJS consumer: require() and tsx in a CommonJS project, no warnings, same numbers as import', async () => {
    writeFileSync(join(consumer, 'probe.cjs'), `const f = require('flyvis-ts');\n(async () => {${PROBE}})();\n`);
    writeFileSync(join(consumer, 'probe.mjs'), `import * as f from 'flyvis-ts';\n${PROBE}`);
    const cjs = await run(process.execPath, ['probe.cjs'], consumer);
    const esm = await run(process.execPath, ['probe.mjs'], consumer);
    expect(cjs.status, explain(cjs)).toBe(0);
    expect(esm.status, explain(esm)).toBe(0);
    expect(cjs.stderr).toBe(''); // e.g. no ExperimentalWarning from require(esm)
    const a = JSON.parse(cjs.stdout) as { nNodes: number; shape: number[]; sum: number; svg: boolean; exports: number };
    expect(a.nNodes).toBe(1203); // flyvis's connectome at extent 2
    expect(a.shape).toEqual([1, 6, 1203]);
    expect(Number.isFinite(a.sum) && a.sum !== 0).toBe(true);
    expect(a.svg).toBe(true);
    expect(JSON.parse(esm.stdout)).toEqual(a);
    // The README's first block, as a new user runs it in a CommonJS project: tsx compiles it to require().
    const dir = join(consumer, 'cjs');
    mkdirSync(dir);
    const { modules, snippets } = writeSnippetModules(PROJECT_DIR, dir);
    expect(snippets[0]!.origin).toMatch(/^README\.md:/);
    expect(snippets[0]!.topLevelAwait).toBe(false);
    const r = await run(process.execPath, [TSX, modules[0]!], dir);
    expect(r.status, explain(r)).toBe(0);
    expect(r.stderr).toBe('');
  }, 120_000);

  it('runs every block from the clone, importing the package by name', async () => {
    rmSync(cloneDir, { recursive: true, force: true });
    mkdirSync(cloneDir);
    try {
      await runSnippets(cloneDir);
    } finally {
      rmSync(cloneDir, { recursive: true, force: true });
    }
  }, 180_000);

  it('installs a working flyvis command (the compiled dist/)', async () => {
    const bin = join(consumer, 'node_modules', '.bin', 'flyvis');
    const demo = await run(bin, ['info', '--connectome', 'demo', '--extent', '2'], consumer);
    expect(demo.status, explain(demo)).toBe(0);
    expect((JSON.parse(demo.stdout) as { n_nodes: number }).n_nodes).toBe(250);
    // flyvis's connectome is the default, found in the installed package's data/
    const fly = await run(bin, ['info', '--extent', '2'], consumer);
    expect(fly.status, explain(fly)).toBe(0);
    expect((JSON.parse(fly.stdout) as { n_nodes: number }).n_nodes).toBe(1203);
    const bad = await run(bin, ['info', '--extent', 'x'], consumer);
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  }, 60_000);
});
