/**
 * Retry with exponential backoff and jitter for transient registry failures.
 * Only requests whose body can be sent again are retried: a consumed stream is
 * never re-sent. Attempts and total waiting are both bounded.
 */
import { setTimeout as delay } from "node:timers/promises";
import { TRANSIENT_STATUSES } from "../transient.js";
import { abortReason, describeRequest, discard, header, isReplayable, isRetryableNetworkError, type HttpResponse, type Layer } from "./http.js";
import { deadlineOf } from "./timeouts.js";

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** Backoff before the second attempt; doubled for each later one. */
  baseDelayMs: number;
  /** No single wait is longer than this (Retry-After included). */
  maxDelayMs: number;
  /** Give up rather than wait more than this in total for one request. */
  maxTotalWaitMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 250,
  maxDelayMs: 10_000,
  maxTotalWaitMs: 30_000,
};

/** 408 Request Timeout, 429 Too Many Requests and the 5xx answers a restart or overload produces. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = TRANSIENT_STATUSES;

/**
 * Something sent or fetched again after a transient failure, reported through
 * RemoteOptions.onRetry (the library never prints; the CLI shows these with --debug).
 */
export interface RetryEvent {
  /**
   * "retry": a request sent again; "resume": a download continued from
   * `offset` with a Range request; "restart": a blob download begun again
   * from its first byte because the registry's answer to a Range request
   * could not be used.
   */
  kind: "retry" | "resume" | "restart";
  /** The registry of the client that retried (`host[:port]`). */
  registry: string;
  /** What is tried again: "GET /v2/team/app/manifests/v1", "blob sha256:…". */
  what: string;
  /** Why: "answered 503", "cannot reach r.example: connection reset", … */
  reason: string;
  /** The attempt about to start: 2 for the first retry. */
  attempt: number;
  /** The wait before it, in milliseconds. */
  delayMs: number;
  /** resume and restart: the bytes already received, which are not fetched (resume) or not passed on (restart) again. */
  offset?: number;
}

/**
 * The wait before attempt `failures + 1`: base * 2^(failures-1), capped, with
 * "equal jitter" (half fixed, half random) so that many clients that failed
 * together do not come back together, yet nobody retries immediately.
 */
export function backoffDelay(failures: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, failures - 1));
  return Math.round(exponential / 2 + random() * (exponential / 2));
}

/** Retry-After as milliseconds from `now`: delta-seconds or an HTTP date; undefined when absent or unparseable. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (!/[a-z]/i.test(text)) return undefined;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** The wait before the next attempt: the server's Retry-After when given (capped), else backoff. */
export function retryDelay(failures: number, retryAfterMs: number | undefined, policy: RetryPolicy, random?: () => number): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, policy.maxDelayMs);
  return backoffDelay(failures, policy, random);
}

export interface RetryLayerOptions {
  policy?: Partial<RetryPolicy>;
  /** Injected in tests; defaults to an abortable timer. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  /** Told of every retry. */
  onRetry?: (event: RetryEvent) => void;
  /** Named in retry events. */
  registry?: string;
}

async function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  await delay(ms, undefined, signal ? { signal } : undefined);
}

/** Wait before a retry; an abort rejects with the signal's reason when it is ours (a deadline). */
export async function pause(ms: number, signal: AbortSignal | undefined, sleep: RetryLayerOptions["sleep"] = defaultSleep): Promise<void> {
  try {
    await sleep(ms, signal);
  } catch (err) {
    throw signal?.aborted ? abortReason(signal, err) : err;
  }
}

/** Whether a wait of `ms` would end at or past the deadline of signal's operation. */
export function passesDeadline(ms: number, signal: AbortSignal | undefined): boolean {
  const deadline = deadlineOf(signal);
  return deadline !== undefined && Date.now() + ms >= deadline;
}

/**
 * Retries transient answers and connection failures. Bounded three ways: by
 * attempts, by the total time spent waiting, and by the operation deadline
 * of the request's signal (no wait is begun that would end past it).
 */
export function retryLayer(opts: RetryLayerOptions = {}): Layer {
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...opts.policy };
  const sleep = opts.sleep ?? defaultSleep;
  return (next) => async (req) => {
    if (!isReplayable(req.body)) return next(req);
    let waited = 0;
    for (let attempt = 1; ; attempt++) {
      let res: HttpResponse | undefined;
      let failure: unknown;
      try {
        res = await next(req);
        if (!RETRYABLE_STATUSES.has(res.status)) return res;
      } catch (err) {
        if (req.signal?.aborted || !isRetryableNetworkError(err)) throw err;
        failure = err;
      }
      const retryAfter = res ? parseRetryAfter(header(res.headers, "retry-after")) : undefined;
      const wait = retryDelay(attempt, retryAfter, policy, opts.random);
      if (attempt >= policy.maxAttempts || waited + wait > policy.maxTotalWaitMs || passesDeadline(wait, req.signal)) {
        if (res) return res; // the caller turns the final status into an error naming the registry
        throw failure;
      }
      if (res) await discard(res);
      opts.onRetry?.({
        kind: "retry",
        registry: opts.registry ?? req.url.host,
        what: describeRequest(req),
        reason: res ? `answered ${res.status}` : failure instanceof Error ? failure.message : String(failure),
        attempt: attempt + 1,
        delayMs: wait,
      });
      await pause(wait, req.signal, sleep);
      waited += wait;
    }
  };
}
