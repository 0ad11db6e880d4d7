// The Node edge of the input budget (src/budget.ts): the default memory budget is half the
// machine's memory, and the environment variables FLYVIS_MAX_MEMORY_GB (decimal gigabytes) and
// FLYVIS_MAX_STEPS (Euler steps per call) replace the defaults. Read at each check, so a
// change of the environment takes effect at once. Imported for its effect by the modules that
// read files (src/io/json.ts, src/graph/load.ts, src/network/config-file.ts).
import { totalmem } from 'node:os';
import { BudgetError, GB, setBudgetEnvironment, type BudgetOptions } from './budget.ts';

/** The fraction of the machine's memory one request may use by default. */
export const DEFAULT_MEMORY_FRACTION = 0.5;

/**
 * The budget the environment gives: FLYVIS_MAX_MEMORY_GB (a positive number of GB) else half
 * of `totalBytes`, and FLYVIS_MAX_STEPS (a positive integer) when set. A malformed value is a
 * `BudgetError` naming the variable.
 */
export function budgetFromEnvironment(env: Readonly<Record<string, string | undefined>> = process.env, totalBytes: number = totalmem()): BudgetOptions {
  const memory = env.FLYVIS_MAX_MEMORY_GB;
  const steps = env.FLYVIS_MAX_STEPS;
  const out: { maxMemoryBytes?: number; maxSteps?: number } = {};
  if (memory !== undefined && memory.trim() !== '') {
    const gb = Number(memory);
    if (!(gb > 0)) throw new BudgetError(`FLYVIS_MAX_MEMORY_GB: expected a positive number of gigabytes, got '${memory}'`, 'memory', NaN, NaN);
    out.maxMemoryBytes = gb * GB;
  } else if (totalBytes > 0) {
    out.maxMemoryBytes = Math.floor(totalBytes * DEFAULT_MEMORY_FRACTION);
  }
  if (steps !== undefined && steps.trim() !== '') {
    const n = Number(steps);
    if (!Number.isSafeInteger(n) || n < 1) throw new BudgetError(`FLYVIS_MAX_STEPS: expected a positive integer, got '${steps}'`, 'steps', NaN, NaN);
    out.maxSteps = n;
  }
  return out;
}

setBudgetEnvironment(() => budgetFromEnvironment());
