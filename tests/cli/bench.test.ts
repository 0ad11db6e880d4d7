// `flyvis bench` (a contract): one JSON object with the documented fields, for any kernel.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { PROJECT_DIR } from '../helpers/shared.ts';

const flyvis = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['bin/flyvis.mjs', ...args], { cwd: PROJECT_DIR, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

describe('flyvis bench', () => {
  it('prints one JSON object with the contract fields', () => {
    const r = flyvis('bench', '--extent', '2', '--steps', '3', '--batch', '2', '--kernel', 'csr', '--repeats', '1', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const o = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(o).toMatchObject({ kernel: 'csr', batch: 2, steps: 3 });
    for (const k of ['build_ms', 'forward_ms_per_step', 'forward_backward_ms_per_step', 'peak_rss_mb', 'forward_peak_rss_mb', 'forward_cpu_ms_per_step', 'forward_backward_cpu_ms_per_step']) {
      expect(typeof o[k], k).toBe('number');
      expect(o[k] as number, k).toBeGreaterThan(0);
    }
    expect(o.peak_rss_mb as number).toBeGreaterThanOrEqual(o.forward_peak_rss_mb as number);
  });

  it('names the kernel auto picked, and rejects unknown kernels and bad numbers with exit 2', () => {
    const auto = JSON.parse(flyvis('bench', '--extent', '1', '--steps', '2', '--repeats', '1', '--json').stdout) as { kernel: string };
    expect(['wasm', 'wasm-threads', 'runs', 'csr']).toContain(auto.kernel);
    const bad = flyvis('bench', '--kernel', 'quantum', '--extent', '1', '--json');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^flyvis bench: kernel: .*unknown kernel 'quantum'/);
    const steps = flyvis('bench', '--steps', '0', '--json');
    expect(steps.code).toBe(2);
    expect(steps.stderr).toMatch(/--steps: expected an integer >= 1, got '0'/);
  });
});
