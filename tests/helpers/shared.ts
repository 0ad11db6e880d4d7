// Locating ../shared (connectome file and flyvis golden data). Tests that need it skip, with a
// printed reason, when it is absent: the project never copies it in.
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const PROJECT_DIR = resolve(here, '..', '..');
export const SHARED_DIR = process.env.FLYVIS_SHARED ?? resolve(PROJECT_DIR, '..', 'shared');
export const GOLDEN_DIR = resolve(SHARED_DIR, 'golden');
export const CONNECTOME_FILE = resolve(SHARED_DIR, 'flyvis', 'fib25-fib19_v2.2.json');

export const hasShared = existsSync(CONNECTOME_FILE) && existsSync(GOLDEN_DIR);
if (!hasShared) {
  console.warn(`[flyvis-ts tests] skipping golden tests: ${SHARED_DIR} (connectome + golden data) is absent`);
}

export const sharedPath = (...parts: string[]): string => resolve(SHARED_DIR, ...parts);

/**
 * Command-line arguments that run on the small synthetic demo connectome unless they name one:
 * the commands default to flyvis's connectome, and most command-line tests are about behaviour,
 * not about flyvis's graph, so they stay small and fast on the demo.
 */
export const onDemo = (args: readonly string[]): string[] =>
  args.some((a) => a === '--connectome' || a.startsWith('--connectome=')) || args.includes('--help') ? [...args] : [...args, '--connectome', 'demo'];
