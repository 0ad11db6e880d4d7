// Makes docs/figures/explorer.png (the README's picture of the explorer) and
// docs/figures/explorer-analyses.png: the built page in headless Chromium at 1200 px, with
// flyvis's pretrained network 000/0000 (../shared/flyvis, zipped and dropped on the page as a
// user would; the default network when it is absent), an ON edge moving at 19 columns/s paused
// halfway, and the moving-edge analysis (DSI table, T4a's tuning).
//   npx tsx web/scripts/figure.ts [--out docs/figures]
import '../../src/platform-node.ts';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ROOT, dropFile, launchChromium, serveExplorer, waitStatus } from '../../tests/browser/explorer-harness.ts';
import { filesUnder, writeTestZip } from '../../tests/browser/zip-writer.ts';

const i = process.argv.indexOf('--out');
const out = resolve(i >= 0 ? process.argv[i + 1]! : join(ROOT, 'docs', 'figures'));
const NET = resolve(ROOT, '..', 'shared', 'flyvis', 'pretrained-v0.1.0', 'opticflow', '000', '0000');

const served = await serveExplorer();
const browser = await launchChromium(false);
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
  await page.goto(`${served.url}?stim=edge&intensity=1&angle=0&speed=19&rate=max&scale=type&backend=wasm&cells=T4a@0,0;T4c@0,0;T5a@0,0;Mi1@0,0;Tm3@0,0`);
  await waitStatus(page, 's.backends.length > 0 && s.frames > 0');
  if (existsSync(join(NET, 'best_chkpt'))) {
    await dropFile(page, '0000.zip', writeTestZip(filesUnder(NET, '0000')));
    await waitStatus(page, "s.model === '0000' && s.frames > 0 && s.recordedFrames === 0");
  } else process.stderr.write(`no ${NET}: the figure shows the default network\n`);
  await page.click('#dsi-run');
  await page.waitForFunction('globalThis.flyvisExplorer.analyses().dsi !== null', undefined, { timeout: 600_000 });
  await page.click('#dsi-table tr[data-type="T4a"]');
  await page.evaluate('document.activeElement && document.activeElement.blur()');
  const s = await waitStatus(page, 's.frames > 0');
  for (let k = 1; k <= Math.floor(s.frames / 2); k++) {
    await page.keyboard.press('ArrowRight'); // one frame per press
    await waitStatus(page, `s.recordedFrames === ${k}`);
  }
  await page.evaluate('window.scrollTo(0, 0)');
  await page.screenshot({ path: join(out, 'explorer.png'), fullPage: true });
  await page.locator('#analyses').screenshot({ path: join(out, 'explorer-analyses.png') });
  process.stderr.write(`wrote ${join(out, 'explorer.png')} and explorer-analyses.png\n`);
} finally {
  await browser.close();
  await served.close();
}
