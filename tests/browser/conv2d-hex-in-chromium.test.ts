// conv2dHex in a real browser: tests/browser/conv2d-hex-page.ts (the platform-neutral core only)
// bundled with esbuild for the browser, minified, in headless Chromium. The wasm kernels must run
// there (their module is part of the bundle, instantiated synchronously: no asset, no loading
// step), and both the wasm and the js kernels must give, bit for bit, what the op's first direct
// loops give in Node (tests/task/conv2d-hex-reference.ts), forward and VJP, with no console
// errors. Skipped, with the reason printed, only where Chromium is absent.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hexKernelMask } from '../../src/task/conv2d-hex.ts';
import { type ConvAttrs, referenceForward, referenceInputGrad, referenceWeightGrad } from '../task/conv2d-hex-reference.ts';
import { SHAPE, convInputs } from './conv2d-hex-case.ts';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const CHROMIUM = process.env.FLYVIS_CHROMIUM ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`[flyvis-ts tests] skipping the conv2dHex browser test: no Chromium at ${CHROMIUM} (apt-get install chromium; .ci/run does)`);

const decode = (b64: string): Float32Array => {
  const bytes = Buffer.from(b64, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
};

describe.skipIf(!hasChromium)('conv2dHex bundled for a browser, in headless Chromium', () => {
  let dir = '';
  let server: Server | null = null;
  let url = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'flyvis-conv-browser-'));
    const { build } = await import('esbuild');
    const result = await build({
      entryPoints: [join(ROOT, 'tests', 'browser', 'conv2d-hex-page.ts')],
      outfile: join(dir, 'page.js'),
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'chrome120',
      minify: true,
      metafile: true,
      logLevel: 'silent',
    });
    const nodeImports = Object.values(result.metafile.inputs).flatMap((m) => m.imports.filter((i) => i.path.startsWith('node:')).map((i) => i.path));
    expect(nodeImports).toEqual([]);
    writeFileSync(join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><title>conv2dHex</title><link rel="icon" href="data:,"><script type="module" src="page.js"></script>\n');
    const types: Record<string, string> = { 'index.html': 'text/html', 'page.js': 'text/javascript' };
    server = createServer((req, res) => {
      const name = (req.url ?? '/').split('?')[0]!.replace(/^\/+/, '') || 'index.html';
      if (!(name in types)) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': types[name]! }).end(readFileSync(join(dir, name)));
    });
    await new Promise<void>((ok) => server!.listen(0, '127.0.0.1', ok));
    const address = server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;
  });

  afterAll(async () => {
    await new Promise<void>((ok) => (server ? server.close(() => ok()) : ok()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('wasm runs in the page; wasm and js give the direct loops\' bits, forward and VJP', async () => {
    // Node: the direct loops on the same inputs
    const { n, ci, co, h, w, k } = SHAPE;
    const inp = convInputs();
    const mask = hexKernelMask(k);
    const allTaps = Int32Array.from({ length: k * k }, (_, i) => i);
    const a: ConvAttrs = { n, ci, h, w, co, k, pad: 2, ho: h, wo: w, taps: allTaps.filter((i) => mask[i] !== 0), allTaps, hasBias: true };
    const out = new Float32Array(n * co * h * w);
    referenceForward(inp.x, inp.w, inp.b, a, out);
    const gx = new Float32Array(inp.x.length);
    referenceInputGrad(inp.r, inp.w, a, gx);
    const gw = new Float32Array(inp.w.length);
    const gb = new Float32Array(co);
    referenceWeightGrad(inp.r, inp.x, a, gw, gb);

    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(url);
      await page.waitForFunction(() => typeof (globalThis as { flyvisConv?: unknown }).flyvisConv === 'function');
      for (const kind of ['wasm', 'js'] as const) {
        const r = await page.evaluate((kk) => (globalThis as unknown as { flyvisConv(k: string): Record<string, string> }).flyvisConv(kk), kind);
        expect(r.ran).toBe(kind);
        expect(decode(r.out!)).toEqual(out);
        expect(decode(r.gx!)).toEqual(gx);
        expect(decode(r.gw!)).toEqual(gw);
        expect(decode(r.gb!)).toEqual(gb);
      }
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
