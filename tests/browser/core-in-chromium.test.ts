// The platform-neutral core in a real browser: tests/browser/page.ts (which imports only
// src/core.ts) is bundled with esbuild for the browser, minified, and served with the wasm
// kernel's asset (dist/flyvis-kernels.wasm, built ahead of use by scripts/build.mjs) and
// flyvis's connectome (data/); headless Chromium (Debian's, driven by playwright-core, no
// browser download) builds flyvis's default network at extent 15 and simulates a flash on the
// 'wasm' backend and on the 'gpujs' backend over WebGL2 (SwiftShader; gpu-in-chromium.test.ts
// checks the GPU backends further, gradients included). Both must match Node's
// activity for the same network and flash, with no console errors. Skipped, with the reason
// printed, only where Chromium is absent (.ci/run installs it).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONNECTOME, type FlashResult, simulateFlash } from './flash.ts';
import type { PageResult } from './page.ts';
import { buildWasmKernel } from '../../src/kernels/wasm-build.ts';
import { WASM_ASSET_NAME } from '../../src/kernels/wasm-module.ts';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const CHROMIUM = process.env.FLYVIS_CHROMIUM ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`[flyvis-ts tests] skipping the browser test: no Chromium at ${CHROMIUM} (apt-get install chromium; .ci/run does)`);

/** Largest |a - b| over the arrays, and the largest |b| (for the scale of the comparison). */
function maxDiff(a: Float32Array, b: Float32Array): { diff: number; scale: number } {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return { diff, scale };
}

const decode = (b64: string): Float32Array => {
  const bytes = Buffer.from(b64, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
};

describe.skipIf(!hasChromium)('the core bundled for a browser, in headless Chromium', () => {
  let dir = '';
  let server: Server | null = null;
  let url = '';
  let node: FlashResult;
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'flyvis-browser-'));
    const { build } = await import('esbuild');
    const result = await build({
      entryPoints: [join(ROOT, 'tests', 'browser', 'page.ts')],
      outfile: join(dir, 'page.js'),
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'chrome120',
      minify: true, // kernels are strings and backends are found by class identity: minifying must not matter
      metafile: true,
      logLevel: 'silent',
    });
    const nodeImports = Object.values(result.metafile.inputs).flatMap((m) => m.imports.filter((i) => i.path.startsWith('node:')).map((i) => i.path));
    expect(nodeImports).toEqual([]);
    // The asset as scripts/build.mjs makes it (reusing the clone's keyed copy when it exists).
    writeFileSync(join(dir, WASM_ASSET_NAME), buildWasmKernel().bytes);
    writeFileSync(join(dir, CONNECTOME), readFileSync(join(ROOT, 'data', CONNECTOME)));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><title>flyvis-ts core</title><link rel="icon" href="data:,"><script type="module" src="page.js"></script>\n');
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
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;
    // Node's result for the same network and flash (the test process has the Node platform).
    node = simulateFlash('wasm');
  });

  afterAll(async () => {
    await new Promise<void>((ok) => (server ? server.close(() => ok()) : ok()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('simulates flyvis default network at extent 15 on wasm and on gpu.js WebGL2, matching Node, without console errors', async () => {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--enable-unsafe-swiftshader', '--use-angle=swiftshader'],
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(url);
      await page.waitForFunction(() => typeof (globalThis as { flyvisFlash?: unknown }).flyvisFlash === 'function');
      const run = (kernel: string): Promise<PageResult> =>
        page.evaluate((k) => (globalThis as unknown as { flyvisFlash(k: string): Promise<PageResult> }).flyvisFlash(k), kernel);

      const wasm = await run('wasm');
      expect(wasm.ran).toBe('wasm');
      expect(wasm.platform).toBe('neutral'); // nothing installed a Node platform in the page
      expect(wasm.kernels.find((k) => k.name === 'wasm')?.available).toBe(true);
      // no worker-thread platform in a page: 'wasm-threads' says why it is unavailable
      expect(wasm.kernels.find((k) => k.name === 'wasm-threads')).toMatchObject({ available: false });
      expect([wasm.nodes, wasm.frames]).toEqual([45669, node.frames]);
      const a = decode(wasm.activityBase64);
      expect(a.length).toBe(node.activity.length);
      const w = maxDiff(a, node.activity);
      expect(w.diff).toBeLessThanOrEqual(1e-5);

      const gpu = await run('gpujs');
      expect([gpu.ran, gpu.gpuBackend]).toEqual(['gpujs', 'WebGL2Kernel']); // the simulation ran on WebGL2
      const gpuInfo = gpu.kernels.find((k) => k.name === 'gpujs');
      expect(gpuInfo).toMatchObject({ available: true, note: 'backend WebGL2Kernel' });
      const g = maxDiff(decode(gpu.activityBase64), node.activity);
      console.log(
        `[browser] wasm ${wasm.ms.toFixed(0)} ms (max |diff| ${w.diff.toExponential(2)}), gpujs/WebGL2 ${gpu.ms.toFixed(0)} ms ` +
          `(max |diff| ${g.diff.toExponential(2)}, activity up to ${w.scale.toFixed(2)})`,
      );
      expect(g.diff).toBeLessThanOrEqual(1e-5);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
