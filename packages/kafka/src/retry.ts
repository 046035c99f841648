import { sleep } from "./db.ts";
import { classifyError, type ErrorClass } from "./errors.ts";

/** How a runner retries a failed handler: capped exponential backoff. */
export interface RetryOptions {
  /** the first wait (default 100 ms); each later one doubles */
  initialMs?: number;
  /** the longest wait (default 10 s) */
  maxMs?: number;
  /** attempts before an "unknown" failure is given up (default 5); transient failures retry forever */
  maxAttempts?: number;
}

/** What a runner does while it waits: keep its group membership alive, and notice a stop. */
export interface WaitHooks {
  heartbeat(): Promise<void>;
  isStopping(): boolean;
}

/**
 * Waits `ms` in slices of at most 500 ms, heartbeating between them (heartbeat failures are left to the
 * next fetch to report). Resolves false as soon as the runner is stopping, true once the time is up.
 */
export async function waitWhileHeartbeating(ms: number, hooks: WaitHooks): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (hooks.isStopping()) return false;
    await sleep(Math.min(500, until - Date.now()));
    await hooks.heartbeat().catch(() => {});
  }
  return true;
}

export interface FailureInfo {
  kind: ErrorClass;
  /** 1 for the first attempt */
  attempt: number;
  /** false when this failure ends the attempts (fatal, or unknown after maxAttempts) */
  willRetry: boolean;
}

export type RetryHooks = WaitHooks & { onFailure(error: unknown, info: FailureInfo): void };

export type Attempted<T> =
  | { status: "done"; value: T }
  /** fatal, or unknown after maxAttempts: retrying will not help */
  | { status: "failed"; error: unknown; attempts: number }
  /** the runner was stopped while waiting to retry */
  | { status: "stopped" };

/**
 * Runs `attempt` until it resolves or its failure is final, sorting each failure with classifyError:
 * fatal ends at once, unknown ends after `maxAttempts`, transient retries until it works. Waits between
 * attempts with capped exponential backoff, heartbeating.
 */
export async function retrying<T>(
  attempt: (n: number) => Promise<T>,
  options: RetryOptions | undefined,
  hooks: RetryHooks,
): Promise<Attempted<T>> {
  try {
    return { status: "done", value: await attempt(1) };
  } catch (error) {
    return retryAfterFailure(error, attempt, options, hooks);
  }
}

/**
 * The same after a first attempt already failed with `error`: a hot path calls its work directly and
 * enters the retry loop only when it fails.
 */
export async function retryAfterFailure<T>(
  error: unknown,
  attempt: (n: number) => Promise<T>,
  options: RetryOptions | undefined,
  hooks: RetryHooks,
): Promise<Attempted<T>> {
  const initialMs = options?.initialMs ?? 100;
  const maxMs = options?.maxMs ?? 10_000;
  const maxAttempts = options?.maxAttempts ?? 5;
  let failure = error;
  for (let n = 1; ; n++) {
    const kind = classifyError(failure);
    const willRetry = kind === "transient" || (kind === "unknown" && n < maxAttempts);
    hooks.onFailure(failure, { kind, attempt: n, willRetry });
    if (!willRetry) return { status: "failed", error: failure, attempts: n };
    if (!(await waitWhileHeartbeating(Math.min(initialMs * 2 ** (n - 1), maxMs), hooks))) {
      return { status: "stopped" };
    }
    try {
      return { status: "done", value: await attempt(n + 1) };
    } catch (next) {
      failure = next;
    }
  }
}
