// The GPU backends in a real browser: tests/browser/gpu-page.ts (the platform-neutral core and
// the backends) is bundled for the browser, minified, and driven in Debian's headless Chromium
// (playwright-core, no browser download) with SwiftShader behind WebGL2
// (--enable-unsafe-swiftshader) and WebGPU (--enable-unsafe-webgpu). On 'gpujs' (gpu.js over
// WebGL2, state in textures) and 'webgpu' (WGSL), forward and backward: random graphs
// (tests/browser/gpu-cases.ts) and a scan of flyvis's extent-15 network agree with Node's js
// backend to 1e-5 of each array's largest value, and a Network on gpujs gives the gradients of
// a loss over a flash that Node's js backend gives. 'auto' consults gpujs's gate (a GPU context,
// correct, faster than wasm) and keeps wasm unless the gate found gpujs faster. Software GPUs:
// what this measures is correctness, never speed. Skipped, with the reason printed, only where
// Chromium is absent (.ci/run installs it).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWasmKernel } from '../../src/kernels/wasm-build.ts';
import { WASM_ASSET_NAME } from '../../src/kernels/wasm-module.ts';
import { ConnectomeFromAvgFilters } from '../../src/graph/index.ts';
import { Network } from '../../src/network/network.ts';
import { CONNECTOME, EXTENT, DT, flashGradients } from './flash.ts';
import { type CaseResult, disagreement, fromBase64, networkCase, randomCase, runCase } from './gpu-cases.ts';
import type { EncodedResult, GpuPageApi, GpuSetup } from './gpu-page.ts';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const CHROMIUM = process.env.FLYVIS_CHROMIUM ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`[flyvis-ts tests] skipping the GPU browser test: no Chromium at ${CHROMIUM} (apt-get install chromium; .ci/run does)`);

const SEEDS = Array.from({ length: 16 }, (_, i) => 1000 + i);
const BACKENDS = ['gpujs', 'webgpu'] as const;

const decode = (r: EncodedResult): CaseResult => Object.fromEntries(Object.entries(r.arrays).map(([k, b]) => [k, fromBase64(b)])) as CaseResult;

/** Every array within 1e-5 of the reference's largest value (disagreement <= 1); the worst ratio to the tolerance. */
function expectAgrees(what: string, got: CaseResult, ref: CaseResult): number {
  const d = disagreement(got, ref);
  for (const [k, v] of Object.entries(d)) expect(v, `${what}: ${k} differs from js by ${v.toFixed(3)} x the tolerance`).toBeLessThanOrEqual(1);
  return Math.max(...Object.values(d));
}

describe.skipIf(!hasChromium)('the GPU backends in headless Chromium (SwiftShader), against Node', () => {
  let dir = '';
  let server: Server | null = null;
  let browser: Browser | null = null;
  let page: Page;
  let setup: GpuSetup;
  const errors: string[] = [];
  const call = <K extends keyof GpuPageApi>(name: K, ...args: Parameters<GpuPageApi[K]>): Promise<Awaited<ReturnType<GpuPageApi[K]>>> =>
    page.evaluate(([n, a]) => ((globalThis as unknown as { flyvisGpu: Record<string, (...x: unknown[]) => unknown> }).flyvisGpu[n as string]!(...(a as unknown[]))), [name, args] as const) as never;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'flyvis-gpu-browser-'));
    const { build } = await import('esbuild');
    await build({
      entryPoints: [join(ROOT, 'tests', 'browser', 'gpu-page.ts')],
      outfile: join(dir, 'page.js'),
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'chrome120',
      minify: true, // kernels are strings and backends are found by class identity: minifying must not matter
      logLevel: 'silent',
    });
    writeFileSync(join(dir, WASM_ASSET_NAME), buildWasmKernel().bytes);
    writeFileSync(join(dir, CONNECTOME), readFileSync(join(ROOT, 'data', CONNECTOME)));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><title>flyvis-ts GPU</title><link rel="icon" href="data:,"><script type="module" src="page.js"></script>\n');
    const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };
    server = createServer((req, res) => {
      const name = decodeURIComponent((req.url ?? '/').split('?')[0]!.replace(/^\/+/, '')) || 'index.html';
      const file = join(dir, name);
      if (name.includes('..') || !existsSync(file)) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
    });
    await new Promise<void>((ok) => server!.listen(0, '127.0.0.1', ok));
    const address = server.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--enable-unsafe-swiftshader', '--use-angle=swiftshader', '--enable-unsafe-webgpu'],
    });
    page = await browser.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await page.waitForFunction(() => typeof (globalThis as { flyvisGpu?: unknown }).flyvisGpu === 'object');
    setup = await call('setup');
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((ok) => (server ? server.close(() => ok()) : ok()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs gpujs on WebGL2 and webgpu on a WebGPU adapter; auto keeps wasm unless its gate measured gpujs faster', () => {
    expect(setup.gpujs).toMatchObject({ mode: 'webgl2', backend: 'WebGL2Kernel', gpu: true });
    expect(setup.webgpu, JSON.stringify(setup.webgpu)).toMatchObject({ ok: true });
    const gpujs = setup.backends.find((b) => b.name === 'gpujs')!;
    expect(gpujs.available).toBe(true);
    // the gate ran (a GPU context here) and said why; auto follows it
    expect(gpujs.auto, 'the auto gate was consulted').toMatch(/^(faster|slower): gpujs on WebGL2Kernel .* ms, wasm .* ms/);
    expect(setup.auto).toBe(gpujs.auto!.startsWith('faster') ? 'gpujs' : 'wasm');
    console.log(`[gpu browser] webgpu adapter: ${setup.webgpu.ok ? setup.webgpu.adapter : ''}; auto: ${setup.auto} (${gpujs.auto})`);
  });

  it.each(BACKENDS)('%s: random graphs, forward and every gradient, equal Node js', async (backend) => {
    const got = await call('random', SEEDS, backend);
    let worst = 0;
    for (const [i, seed] of SEEDS.entries()) {
      const c = randomCase(seed);
      const ref = await runCase(c, 'js', { kernel: 'scatter' });
      expect(got[i]!.name).toBe(c.name);
      if (backend === 'gpujs') expect(got[i]!.ranOn).toBe('WebGL2Kernel');
      worst = Math.max(worst, expectAgrees(`${backend}, ${c.name}`, decode(got[i]!), ref));
    }
    console.log(`[gpu browser] ${backend}, ${SEEDS.length} random graphs: worst difference from js ${worst.toFixed(3)} x the tolerance (1e-5 of the largest value)`);
    expect(errors).toEqual([]);
  });

  it.each(BACKENDS)("%s: flyvis's extent-15 network, batch 2, 3 steps, forward and every gradient, equal Node js", async (backend) => {
    const got = await call('network', backend, DT, 2, 3, 7);
    const net = Network.fromConnectome(ConnectomeFromAvgFilters(CONNECTOME, EXTENT), {}, { kernel: 'js' });
    const ref = await runCase(networkCase(net, DT, 2, 3, 7), 'js');
    net.dispose();
    if (backend === 'gpujs') expect(got.ranOn).toBe('WebGL2Kernel');
    const worst = expectAgrees(`${backend}, ${got.name}`, decode(got), ref);
    console.log(`[gpu browser] ${backend}, extent 15, batch 2, 3 steps: worst difference from js ${worst.toFixed(3)} x the tolerance; ${got.ms.toFixed(0)} ms on SwiftShader (says nothing about a GPU)`);
    expect(errors).toEqual([]);
  });

  it("a Network on gpujs: the flash's gradients w.r.t. every trainable parameter equal Node js", async () => {
    const got = await call('flashGradients', 'gpujs');
    expect(got.backend).toBe('gpujs');
    const ref = flashGradients('js');
    expect(Math.abs(got.loss - ref.loss)).toBeLessThanOrEqual(1e-5 * Math.abs(ref.loss) + 1e-6);
    expect(Object.keys(got.grads).sort()).toEqual(Object.keys(ref.grads).sort());
    for (const [k, g] of Object.entries(ref.grads)) {
      const a = fromBase64(got.grads[k]!);
      let scale = 0;
      let diff = 0;
      for (let i = 0; i < g.length; i++) {
        scale = Math.max(scale, Math.abs(g[i]!));
        diff = Math.max(diff, Math.abs(a[i]! - g[i]!));
      }
      expect(diff, `d loss / d ${k}`).toBeLessThanOrEqual(1e-5 * scale);
    }
    expect(errors).toEqual([]);
  });
});
