// Helpers for the task tests: a python3 that can import torch and numpy (FLYVIS_TORCH_PYTHON,
// python3, /usr/bin/python3), for the comparisons against PyTorch.
import { execFileSync } from 'node:child_process';

let found: string | null | undefined;

/** The first python3 that imports torch and numpy, or null (looked up once). */
export function torchPython(): string | null {
  if (found !== undefined) return found;
  const probe = "import importlib.util as u, sys; sys.exit(0 if u.find_spec('torch') and u.find_spec('numpy') else 1)";
  for (const python of [process.env.FLYVIS_TORCH_PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => !!c)) {
    try {
      execFileSync(python, ['-c', probe], { stdio: 'ignore' });
      return (found = python);
    } catch {
      // not this one
    }
  }
  return (found = null);
}
