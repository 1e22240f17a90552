/**
 * Time limits on registry traffic, so that a registry that stalls fails
 * instead of hanging: one per phase of a request (connecting, waiting for the
 * response headers, waiting for the next body byte) and an optional deadline
 * on a whole operation (one manifest, one blob: every retry and resume of it)
 * that retries cannot stretch.
 */
import { NetworkError, UsageError } from "../errors.js";

export interface Timeouts {
  /** TCP (and TLS) connection set-up. 0: no limit. */
  connectMs: number;
  /** From sending a request to receiving its response headers. 0: no limit. */
  headersMs: number;
  /** Longest silence while receiving a response body (the time between two bytes). 0: no limit. */
  idleBodyMs: number;
  /**
   * The most one operation may take, retries, waits and resumes included: a
   * tag resolved, a manifest fetched or pushed, one blob fetched (until its
   * stream ends) or pushed. 0: no limit (the other three still bound every wait).
   */
  operationMs: number;
}

export const DEFAULT_TIMEOUTS: Readonly<Timeouts> = Object.freeze({
  connectMs: 30_000,
  headersMs: 60_000,
  idleBodyMs: 30_000,
  operationMs: 0,
});

/** The limits in force: the defaults with the given ones over them. */
export function resolveTimeouts(timeouts: Partial<Timeouts> = {}): Timeouts {
  const resolved: Timeouts = { ...DEFAULT_TIMEOUTS };
  for (const key of Object.keys(DEFAULT_TIMEOUTS) as (keyof Timeouts)[]) {
    const value = timeouts[key];
    if (value === undefined) continue;
    if (!Number.isFinite(value) || value < 0) throw new UsageError(`timeouts.${key} must be a non-negative number of milliseconds, not ${String(value)}`);
    resolved[key] = Math.round(value);
  }
  return resolved;
}

/** "500 ms", "30 s", "1.5 s", "2 min", "1 h 30 min" — for messages. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(1))} s`;
  const minutes = Math.round(ms / 60_000);
  if (minutes < 60) return `${minutes} min`;
  return minutes % 60 === 0 ? `${minutes / 60} h` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** When each operation signal's deadline passes (ms since the epoch), for the retry layer's "is there time to wait?". */
const deadlines = new WeakMap<AbortSignal, number>();

/** The deadline of an operation signal, or undefined when the signal has none. */
export function deadlineOf(signal: AbortSignal | undefined): number | undefined {
  return signal === undefined ? undefined : deadlines.get(signal);
}

export interface Operation {
  /** Aborts (with a NetworkError saying what ran out of time) at the deadline, or when the caller's signal does. */
  signal: AbortSignal | undefined;
  /** The operation is over: stop its clock. */
  end(): void;
}

/**
 * Start the clock on one operation. Without a deadline the caller's signal is
 * used as it is; with one, a signal that also aborts when it passes, with a
 * NetworkError naming `what` (so whatever was waiting fails with that, not a
 * bare AbortError).
 */
export function startOperation(operationMs: number, what: string, parent?: AbortSignal): Operation {
  if (operationMs <= 0) return { signal: parent, end: () => {} };
  const controller = new AbortController();
  const forward = (): void => controller.abort(parent?.reason);
  if (parent?.aborted) forward();
  else parent?.addEventListener("abort", forward, { once: true });
  const timer = setTimeout(() => {
    controller.abort(
      new NetworkError(`gave up on ${what}: not done within the operation deadline of ${formatDuration(operationMs)}`, {
        hint: "the registry is slow or keeps failing; try again later, or allow more time with --timeout",
      }),
    );
  }, operationMs);
  timer.unref();
  deadlines.set(controller.signal, Date.now() + operationMs);
  return {
    signal: controller.signal,
    end: () => {
      clearTimeout(timer);
      parent?.removeEventListener("abort", forward);
    },
  };
}

/** Run fn as one operation: its signal carries the deadline, and the clock stops when fn settles. */
export async function asOperation<T>(operationMs: number, what: string, parent: AbortSignal | undefined, fn: (signal: AbortSignal | undefined) => Promise<T>): Promise<T> {
  const op = startOperation(operationMs, what, parent);
  try {
    return await fn(op.signal);
  } finally {
    op.end();
  }
}

/** The promise, or the signal's reason as soon as it aborts (for waits that the signal cannot reach, such as a shared token fetch). */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err as Error);
      },
    );
  });
}
