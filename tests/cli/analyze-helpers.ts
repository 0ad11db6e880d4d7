// Runs `flyvis analyze` in this process (fast: no process start), capturing what it writes.
import { vi } from 'vitest';
import { run } from '../../src/cli/analyze.ts';

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the command with `args` as given; `onStderr` sees every stderr write (e.g. to send a Ctrl-C). */
export async function analyzeInProcess(args: readonly string[], onStderr?: (text: string) => void): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((stdout += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
    stderr += String(s);
    onStderr?.(String(s));
    return true;
  });
  try {
    const code = await run(args);
    return { code, stdout, stderr };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}
