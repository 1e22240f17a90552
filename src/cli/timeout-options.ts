/**
 * Time limits and retry reporting for registry commands: `--timeout`,
 * `--connect-timeout`, `--headers-timeout`, `--idle-timeout` over `KIT_TIMEOUT`,
 * `KIT_CONNECT_TIMEOUT`, `KIT_HEADERS_TIMEOUT`, `KIT_IDLE_TIMEOUT` over the
 * library's defaults; and, with --debug, one stderr line per retry.
 */
import { UsageError } from "../oras/errors.js";
import type { RetryEvent, Timeouts } from "../oras/remote/index.js";
import { formatDuration } from "../oras/remote/timeouts.js";
import { debugEnabled } from "./exit.js";
import { printError } from "./output.js";

export interface TimeoutFlags {
  timeout?: string;
  connectTimeout?: string;
  headersTimeout?: string;
  idleTimeout?: string;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
/** Longer is no limit worth the name (and past what a timer can count). */
const MAX_DURATION_MS = 24 * 3_600_000;

/** "500ms", "30s", "1.5s", "2m", "1h", or a bare number of seconds; "0" means no limit. */
export function parseDuration(text: string, source: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  const ms = m === null ? NaN : Math.round(Number(m[1]) * UNITS[m[2] ?? "s"]!);
  if (!Number.isFinite(ms) || ms > MAX_DURATION_MS) {
    throw new UsageError(`invalid ${source} "${text}": use a duration such as 500ms, 30s, 2m or 1h (0 for no limit, at most 24h)`);
  }
  return ms;
}

/** Each limit: the flag, else the environment variable, else the library default (absent here). */
const LIMITS: readonly { key: keyof Timeouts; flag: keyof TimeoutFlags; option: string; env: string }[] = [
  { key: "operationMs", flag: "timeout", option: "--timeout", env: "KIT_TIMEOUT" },
  { key: "connectMs", flag: "connectTimeout", option: "--connect-timeout", env: "KIT_CONNECT_TIMEOUT" },
  { key: "headersMs", flag: "headersTimeout", option: "--headers-timeout", env: "KIT_HEADERS_TIMEOUT" },
  { key: "idleBodyMs", flag: "idleTimeout", option: "--idle-timeout", env: "KIT_IDLE_TIMEOUT" },
];

export function timeoutsFrom(flags: TimeoutFlags, env: NodeJS.ProcessEnv = process.env): Partial<Timeouts> {
  const timeouts: Partial<Timeouts> = {};
  // Spelled out, not env[limit.env], so that the test listing every variable read finds them.
  const fromEnv: Record<string, string | undefined> = {
    KIT_TIMEOUT: env.KIT_TIMEOUT,
    KIT_CONNECT_TIMEOUT: env.KIT_CONNECT_TIMEOUT,
    KIT_HEADERS_TIMEOUT: env.KIT_HEADERS_TIMEOUT,
    KIT_IDLE_TIMEOUT: env.KIT_IDLE_TIMEOUT,
  };
  for (const limit of LIMITS) {
    const flag = flags[limit.flag];
    const envValue = fromEnv[limit.env];
    if (flag !== undefined) timeouts[limit.key] = parseDuration(flag, limit.option);
    else if (envValue !== undefined && envValue !== "") timeouts[limit.key] = parseDuration(envValue, limit.env);
  }
  return timeouts;
}

/** One `kit: debug:` line for a retry, resume or restart. */
export function describeRetry(event: RetryEvent): string {
  const head = `kit: debug: ${event.registry}: ${event.what}: ${event.reason}`;
  if (event.kind === "resume") return `${head}; resuming from byte ${event.offset ?? 0}`;
  if (event.kind === "restart") return `${head}; fetching it again from the start (the first ${event.offset ?? 0} bytes are not passed on twice)`;
  return `${head}; attempt ${event.attempt} in ${formatDuration(event.delayMs)}`;
}

/** With --debug (or KIT_DEBUG=1), a reporter that prints every retry on stderr; otherwise none. */
export function retryReporter(argv: readonly string[] = process.argv): ((event: RetryEvent) => void) | undefined {
  return debugEnabled(argv) ? (event) => printError(describeRetry(event)) : undefined;
}
