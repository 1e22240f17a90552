/**
 * Property-based testing (fast-check) with one configuration for every fuzz
 * test: the normal suite runs a fixed seed and few runs; `npm run fuzz` sets
 * FUZZ_SEED (random, printed) and FUZZ_SCALE (runs multiplied) for the same
 * files. A failure prints the seed and the shrunk counterexample; re-run it
 * with `FUZZ_SEED=<seed> npx vitest run --config test/vitest.config.ts test/fuzz`.
 */
import fc from "fast-check";
import { isOciError } from "../../src/oras/errors.js";

/** The normal suite's seed: the same inputs on every run and every machine. */
const FIXED_SEED = 0x6b17;
/**
 * Any single call over this long is a failure: inputs are bounded, so work must be too. The bound catches
 * hangs and super-linear blow-ups (a quadratic path at the token budget takes many seconds), not speed:
 * speed is measured by benchmarks. It sits well above the 12–50 ms the largest inputs take on an idle
 * machine because CI runs the suite's files in parallel on 2 cores, where the same call has taken 290 ms.
 */
export const MAX_CALL_MS = 2_000;

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got "${raw}"`);
  return value;
}

export const fuzzSeed = envNumber("FUZZ_SEED", FIXED_SEED);
export const fuzzScale = envNumber("FUZZ_SCALE", 1);

/** fast-check parameters for a property the normal suite runs `runs` times. */
export function fuzzParams<T>(runs: number): fc.Parameters<T> {
  return { seed: fuzzSeed, numRuns: Math.max(1, Math.round(runs * fuzzScale)) };
}

/** A vitest timeout for a property that takes up to `ms` in the normal suite. */
export function fuzzTimeout(ms = 20_000): number {
  return Math.round(ms * fuzzScale) + 30_000;
}

/** Where a call started, in CPU time and in wall time. */
interface Start {
  cpu: NodeJS.CpuUsage;
  wall: number;
}

function startClock(): Start {
  return { cpu: process.cpuUsage(), wall: performance.now() };
}

function describeEscape(err: unknown): string {
  if (err instanceof Error) return `${err.constructor.name}: ${err.message.slice(0, 300)}`;
  return `a thrown ${typeof err}: ${String(err).slice(0, 300)}`;
}

/** What a call did: returned (a value) or threw one of our typed errors. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** The outcome of a call that threw: a failure of the property unless `allowed` accepts the error. */
function thrown(err: unknown, allowed: (err: unknown) => boolean): Outcome<never> {
  if (!allowed(err)) throw new Error(`escaped as ${describeEscape(err)}`, { cause: err });
  return { ok: false, error: err };
}

/** Milliseconds since `start`: the smaller of CPU and wall time (CPU time grows with the garbage collector's helper threads, wall time with a loaded machine). */
function elapsed(start: Start): { ms: number; text: string } {
  const used = process.cpuUsage(start.cpu);
  const cpu = (used.user + used.system) / 1000;
  const wall = performance.now() - start.wall;
  return { ms: Math.min(cpu, wall), text: `${wall.toFixed(0)} ms (${cpu.toFixed(0)} ms of CPU)` };
}

function overBound(took: { text: string }, again?: { text: string }): Error {
  return new Error(`took ${took.text}${again ? `, and ${again.text} again` : ""}; bound ${MAX_CALL_MS} ms`);
}

/**
 * Run `fn`; fail when it throws anything `allowed` does not accept (default:
 * an OciError) or takes more than MAX_CALL_MS. A call over the bound is timed
 * once more and fails only when it is slow again: real cost repeats, a
 * garbage collection that happened to land in it does not.
 */
export function bounded<T>(fn: () => T, allowed: (err: unknown) => boolean = isOciError): Outcome<T> {
  const run = (): Outcome<T> => {
    try {
      return { ok: true, value: fn() };
    } catch (err) {
      return thrown(err, allowed);
    }
  };
  let start = startClock();
  const outcome = run();
  const took = elapsed(start);
  if (took.ms > MAX_CALL_MS) {
    start = startClock();
    run();
    const again = elapsed(start);
    if (again.ms > MAX_CALL_MS) throw overBound(took, again);
  }
  return outcome;
}

/** bounded() for async calls; they touch files, so a slow one is not run again: it fails at once. */
export async function boundedAsync<T>(fn: () => Promise<T>, allowed: (err: unknown) => boolean = isOciError): Promise<Outcome<T>> {
  const start = startClock();
  const outcome = await fn().then(
    (value): Outcome<T> => ({ ok: true, value }),
    (err: unknown) => thrown(err, allowed),
  );
  const took = elapsed(start);
  if (took.ms > MAX_CALL_MS) throw overBound(took);
  return outcome;
}

/** Strings made mostly of the characters a grammar cares about, so the parser's branches are reached. */
export function stringOf(chars: string, maxLength = 80): fc.Arbitrary<string> {
  const unit = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...chars) }, { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 1 }) });
  return fc.string({ unit, maxLength });
}

export { fc };
