#!/usr/bin/env node
// The `flyvis` command. In a clone (src/ present, tsx installed) it runs the TypeScript sources
// through tsx's loader, so an edit to src/ needs no rebuild; in the installed package (no src/)
// it runs the compiled dist/.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
let entry = new URL('../dist/cli/main.js', import.meta.url).href;
if (existsSync(source)) {
  try {
    const { register } = await import('tsx/esm/api');
    register();
    entry = source.href;
  } catch {
    // tsx absent (an install without devDependencies): fall back to dist/ when it is built.
    if (!existsSync(new URL(entry))) {
      console.error('flyvis: running from src/ needs tsx (npm ci installs it), or build dist/ first (npm run build)');
      process.exit(2);
    }
  }
}
const { main } = await import(entry);
process.exitCode = await main(process.argv.slice(2));
