// Validation of the depth budget a request carries; a request without one gets DEFAULT_BUDGET.
// Defaults and limits live in the protocol, shared with the client.
import { BUDGET_LIMITS, DEFAULT_BUDGET, DepthBudget } from '../protocol';

export class BudgetError extends Error {}

function intIn(v: unknown, name: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new BudgetError(`budget.${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Checks a client-supplied budget field by field; a missing budget gets the default. */
export function parseBudget(raw: unknown): DepthBudget {
  if (raw === undefined || raw === null) return { ...DEFAULT_BUDGET };
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new BudgetError('budget must be an object');
  const b = raw as Record<string, unknown>;
  const exit = b.exitThreshold;
  if (exit !== null && exit !== undefined && (typeof exit !== 'number' || !Number.isFinite(exit) || exit < 0 || exit > 1e3)) {
    throw new BudgetError(`budget.exitThreshold must be null or a number in [0, 1000], got ${JSON.stringify(exit)}`);
  }
  if (b.multiline !== undefined && typeof b.multiline !== 'boolean') throw new BudgetError('budget.multiline must be a boolean');
  if (b.explicit !== undefined && typeof b.explicit !== 'boolean') throw new BudgetError('budget.explicit must be a boolean');
  return {
    level: b.level === undefined ? DEFAULT_BUDGET.level : intIn(b.level, 'level', 0, BUDGET_LIMITS.level),
    steps: intIn(b.steps ?? DEFAULT_BUDGET.steps, 'steps', 1, BUDGET_LIMITS.steps),
    exitThreshold: exit === undefined ? DEFAULT_BUDGET.exitThreshold : (exit as number | null),
    maxTokens: intIn(b.maxTokens ?? DEFAULT_BUDGET.maxTokens, 'maxTokens', 1, BUDGET_LIMITS.maxTokens),
    timeCapMs: intIn(b.timeCapMs ?? DEFAULT_BUDGET.timeCapMs, 'timeCapMs', 1, BUDGET_LIMITS.timeCapMs),
    multiline: (b.multiline as boolean | undefined) ?? DEFAULT_BUDGET.multiline,
    explicit: (b.explicit as boolean | undefined) ?? DEFAULT_BUDGET.explicit,
  };
}
