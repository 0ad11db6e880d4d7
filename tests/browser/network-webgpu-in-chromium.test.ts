// A Network on the 'webgpu' backend in a real browser: tests/browser/network-webgpu-page.ts (the
// platform-neutral core) is bundled for the browser, minified, and run in Debian's headless
// Chromium (playwright-core, no browser download) with WebGPU on SwiftShader
// (--enable-unsafe-webgpu). flyvis's default network at extent 15 on navigator.gpu: its
// synchronous simulate says to use simulateAsync; simulateAsync of the flash of
// tests/browser/flash.ts equals Node's js backend to 1e-5, and valueAndGradAsync of the flash's
// loss over forwardAsync gives Node's gradients (1e-5 of each gradient's largest value). A
// software GPU: correctness, never speed. Skipped, with the reason printed, only where Chromium is
// absent (.ci/run installs it).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONNECTOME, flashGradients, simulateFlash } from './flash.ts';
import type { NetworkWebGpuResult } from './network-webgpu-page.ts';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const CHROMIUM = process.env.FLYVIS_CHROMIUM ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`[flyvis-ts tests] skipping the browser test of a Network on webgpu: no Chromium at ${CHROMIUM} (apt-get install chromium; .ci/run does)`);

const decode = (b64: string): Float32Array => {
  const bytes = Buffer.from(b64, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
};

/** max |a - b| / max |b|. */
function relMax(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

describe.skipIf(!hasChromium)('a Network on webgpu in headless Chromium (WebGPU on SwiftShader), through its asynchronous methods', () => {
  let dir = '';
  let server: Server | null = null;
  let browser: Browser | null = null;
  let got: NetworkWebGpuResult;
  const errors: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'flyvis-network-webgpu-'));
    const { build } = await import('esbuild');
    await build({
      entryPoints: [join(ROOT, 'tests', 'browser', 'network-webgpu-page.ts')],
      outfile: join(dir, 'page.js'),
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'chrome120',
      minify: true,
      logLevel: 'silent',
    });
    writeFileSync(join(dir, CONNECTOME), readFileSync(join(ROOT, 'data', CONNECTOME)));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><title>flyvis-ts Network on WebGPU</title><link rel="icon" href="data:,"><script type="module" src="page.js"></script>\n');
    const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.json': 'application/json' };
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
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--enable-unsafe-webgpu', '--enable-unsafe-swiftshader'] });
    const page = await browser.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`);
    await page.waitForFunction(() => typeof (globalThis as { flyvisNetworkWebGpu?: unknown }).flyvisNetworkWebGpu === 'function');
    got = await page.evaluate(() => (globalThis as unknown as { flyvisNetworkWebGpu: () => Promise<NetworkWebGpuResult> }).flyvisNetworkWebGpu());
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((ok) => (server ? server.close(() => ok()) : ok()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("simulates flyvis's extent-15 network on navigator.gpu by simulateAsync, equal to Node's js backend; simulate names simulateAsync", () => {
    expect(got.backend).toBe('webgpu');
    expect(got.syncError).toMatch(/^simulate: the 'webgpu' backend reads results back asynchronously: use await network\.simulateAsync/);
    const node = simulateFlash('js');
    const activity = decode(got.activity);
    expect(activity.length).toBe(node.frames * node.nodes);
    const e = relMax(activity, node.activity);
    expect(e).toBeLessThanOrEqual(1e-5);
    console.log(`[network webgpu browser] ${got.adapter}: flash activity within ${e.toExponential(1)} (relative) of Node js; ${got.ms.toFixed(0)} ms in all on SwiftShader (says nothing about a GPU)`);
    expect(errors).toEqual([]);
  });

  it("differentiates it by valueAndGradAsync over forwardAsync: the flash's gradients equal Node's js backend", () => {
    const ref = flashGradients('js');
    expect(Math.abs(got.loss - ref.loss)).toBeLessThanOrEqual(1e-5 * Math.abs(ref.loss) + 1e-6);
    expect(Object.keys(got.grads).sort()).toEqual(Object.keys(ref.grads).sort());
    for (const [k, g] of Object.entries(ref.grads)) expect(relMax(decode(got.grads[k]!), g), `d loss / d ${k}`).toBeLessThanOrEqual(1e-5);
  });
});
