/**
 * Fault soak (issue 9): a few hundred pulls and copies through fault-injecting proxies in front of two real
 * registries, a seeded 20 % of requests faulted with every kind the proxy has. Every operation must end in
 * success with byte-identical content or in a clean typed error (an OciError; for CLI runs the exit code
 * spec/cli.md gives its code) within a deadline; afterwards every store, layout and the destination
 * registry must hold no blob under a wrong digest and no manifest whose children are missing.
 *
 * Operations run in lanes; each lane has its own pair of proxies and PRNGs, and runs its operations one
 * after the other, so a lane's faults follow from the seed and the order its requests arrive in (which the
 * concurrency inside one pull or copy can still vary a little). The figures are printed for CI logs and
 * quoted in the README's Reliability section. KIT_SOAK_SEED and KIT_SOAK_OPS override seed and count.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exitCodeFor } from "../../src/cli/exit.js";
import { pullKit } from "../../src/kit/pull.js";
import { pushKit } from "../../src/kit/push.js";
import { KitStore } from "../../src/kit/store.js";
import { OciError } from "../../src/oras/errors.js";
import { OciLayout } from "../../src/oras/layout/store.js";
import type { RemoteOptions } from "../../src/oras/remote/registry-client.js";
import { copyReference } from "../../src/oras/targets.js";
import { fetchAll } from "../../src/oras/verify.js";
import { runKit } from "../support/cli.js";
import { FAULT_KINDS, startFaultProxy, type Chaos, type FaultKind, type FaultProxy, type ProxyRequestRecord } from "../support/fault-proxy.js";
import { buildImage, buildImageIndex } from "../support/images.js";
import { pick, seededRandom } from "../support/random.js";
import { auditRegistry, type RegistryAudit } from "../support/registry-audit.js";
import { startRegistry, type RunningRegistry } from "../support/registry.js";

const SEED = Number(process.env.KIT_SOAK_SEED ?? 20250917);
const OPERATIONS = Number(process.env.KIT_SOAK_OPS ?? 240);
const LANES = 4;
const FAULT_RATE = 0.2;
/** Stalls end by themselves after this long, so no stall can outlast the test's budget. */
const STALL_MS = 2000;
/**
 * The library's client gives up on a silent registry after this long (before headers, or between body
 * bytes), so most stalls end as timeouts rather than delays. The CLI runs keep its defaults.
 */
const CLIENT_TIMEOUT_MS = 1000;
/** An operation running longer than this counts as a hang: a test failure. */
const OP_DEADLINE_MS = 60_000;
const CLI_DEADLINE_MS = 90_000;
const TEST_BUDGET_MS = 180_000;

type OpKind = "pull-fresh" | "pull-shared" | "copy-registry" | "copy-layout" | "cli-pull" | "cli-copy";
const WEIGHTS: readonly [OpKind, number][] = [
  ["pull-fresh", 30],
  ["pull-shared", 18],
  ["copy-registry", 22],
  ["copy-layout", 18],
  ["cli-pull", 6],
  ["cli-copy", 6],
];

type Result = "success" | "clean-failure" | "untyped" | "timeout" | "corrupt" | "bad-exit";

interface Outcome {
  lane: number;
  index: number;
  kind: OpKind;
  what: string;
  result: Result;
  /** OciError code of a clean failure. */
  code?: string;
  /** CLI runs: the exit code. */
  exit?: number;
  detail?: string;
  ms: number;
  faults: number;
  /** Requests that repeated a request of this operation that had been faulted. */
  retriesSeen: number;
  /** Requests with a Range header: resumed downloads. */
  rangeRequests: number;
  /** From copy stats, when the library reports them. */
  statRetries: number;
  statResumes: number;
}

interface Source {
  /** Short name, used for destination repositories and layout tags. */
  name: string;
  repo: string;
  digest: string;
  root: Buffer;
  /** Kits: the bytes a store must hold after a pull. */
  kit?: { manifest: Buffer; config: Buffer; kitYaml: Buffer; readme: Buffer };
}

interface Lane {
  id: number;
  random: () => number;
  src: FaultProxy;
  dst: FaultProxy;
  srcChaos?: Chaos;
  dstChaos?: Chaos;
  sharedStore: string;
  sharedLayout: string;
}

let work: string;
let a: RunningRegistry;
let b: RunningRegistry;
const kits: Source[] = [];
const images: Source[] = [];
const lanes: Lane[] = [];
const stores = new Set<string>();
const layouts = new Set<string>();
const dockerConfig = () => path.join(work, "docker-config");
// Short limits, shorter than the proxies' stalls, so a stall ends as the library's timeout rather than a delay.
const remote: RemoteOptions = {
  credentials: async () => undefined,
  timeouts: { connectMs: 5_000, headersMs: CLIENT_TIMEOUT_MS, idleBodyMs: CLIENT_TIMEOUT_MS },
};
const direct = new Agent();

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), "kit-soak-"));
  await mkdir(dockerConfig());
  [a, b] = await Promise.all([startRegistry(), startRegistry()]);
  await buildImage({ url: a.url, repo: "base/agent" }, { tag: "latest", seed: "soak-base" });

  // Kits with READMEs from 600 bytes to ~185 KB, so body faults land in small and large blobs alike.
  const reference = await KitStore.open(path.join(work, "reference-store"));
  for (let i = 0; i < 6; i++) {
    const dir = path.join(work, `kit-${i}`);
    await mkdir(dir);
    await writeFile(
      path.join(dir, "kit.yaml"),
      `name: soak-kit-${i}\nversion: "1.0.${i}"\ndescription: "Soak kit ${i}"\nimage: ${a.host}/base/agent:latest\nexposes:\n  - port: 8080\n`,
    );
    await writeFile(path.join(dir, "README.md"), `# soak-kit-${i}\n\n` + "All work and no play. ".repeat(Math.round(25 * 3.2 ** i)));
    const pushed = await pushKit(`${a.host}/kits/k${i}:v1`, dir, { store: false, remote });
    await pullKit(`${a.host}/kits/k${i}@${pushed.digest}`, { store: reference, remote });
    const stored = await reference.read(pushed.digest);
    kits.push({
      name: `k${i}`,
      repo: `kits/k${i}`,
      digest: pushed.digest,
      root: stored.manifest,
      kit: { manifest: stored.manifest, config: stored.config, kitYaml: stored.kitYaml, readme: stored.readme },
    });
  }
  for (let i = 0; i < 2; i++) {
    const built = await buildImageIndex(
      { url: a.url, repo: `images/app${i}` },
      { tag: "v1", seed: `soak-index-${i}`, platforms: ["linux/amd64", "linux/arm64"], layerSizes: [20_000, 300_000], sharedLayerSizes: [40_000] },
    );
    images.push({ name: `app${i}`, repo: `images/app${i}`, digest: built.digest, root: built.indexBytes });
  }
  const single = await buildImage({ url: a.url, repo: "images/single" }, { tag: "v1", seed: "soak-single", layerSizes: [5_000, 500_000] });
  images.push({ name: "single", repo: "images/single", digest: single.digest, root: single.manifestBytes });

  for (let id = 0; id < LANES; id++) {
    const sharedStore = path.join(work, `lane-${id}-store`);
    const sharedLayout = path.join(work, `lane-${id}-layout`);
    stores.add(sharedStore);
    layouts.add(sharedLayout);
    lanes.push({
      id,
      random: seededRandom(laneSeed(id)),
      src: await startFaultProxy({ upstream: a }),
      dst: await startFaultProxy({ upstream: b }),
      sharedStore,
      sharedLayout,
    });
  }
}, 120_000);

afterAll(async () => {
  for (const lane of lanes) await Promise.all([lane.src.stop(), lane.dst.stop()]);
  await Promise.all([a?.stop(), b?.stop()]);
  await direct.close();
  if (work) await rm(work, { recursive: true, force: true });
});

function laneSeed(lane: number): number {
  return (SEED + 7919 * (lane + 1)) >>> 0;
}

function pickWeighted(random: () => number): OpKind {
  const total = WEIGHTS.reduce((sum, [, w]) => sum + w, 0);
  let x = random() * total;
  for (const [kind, w] of WEIGHTS) {
    x -= w;
    if (x < 0) return kind;
  }
  return WEIGHTS.at(-1)![0];
}

/** Run `op` with an abort signal; a result, an error, or a timeout once `ms` pass (the op is then abandoned). */
async function withDeadline<T>(op: (signal: AbortSignal) => Promise<T>, ms: number): Promise<{ value?: T; error?: unknown; timedOut: boolean }> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ timedOut: true }>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve({ timedOut: true });
    }, ms);
  });
  try {
    return await Promise.race([
      op(controller.signal).then(
        (value) => ({ value, timedOut: false }),
        (error: unknown) => ({ error, timedOut: false }),
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function failureOf(error: unknown): Pick<Outcome, "result" | "code" | "detail"> {
  if (error instanceof OciError) return { result: "clean-failure", code: error.code, detail: error.message };
  const e = error as { name?: string; message?: string; stack?: string } | undefined;
  return { result: "untyped", detail: `${e?.name ?? typeof error}: ${e?.message ?? String(error)}` };
}

function same(a: Buffer, b: Buffer): boolean {
  return Buffer.compare(a, b) === 0;
}

/** What the store at `dir` holds for a kit, compared with what was pushed; undefined when identical. */
async function kitMismatch(dir: string, source: Source): Promise<string | undefined> {
  const stored = await (await KitStore.open(dir, { create: false })).read(source.digest);
  const want = source.kit!;
  for (const part of ["manifest", "config", "kitYaml", "readme"] as const) {
    if (!same(stored[part], want[part])) return `store ${dir}: ${part} of ${source.digest} differs from what was pushed`;
  }
  return undefined;
}

async function registryMismatch(repo: string, tag: string, source: Source): Promise<string | undefined> {
  const res = await request(`${b.url}/v2/${repo}/manifests/${tag}`, {
    headers: { accept: "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json" },
    dispatcher: direct,
  });
  const bytes = Buffer.from(await res.body.arrayBuffer());
  if (res.statusCode !== 200) return `${b.host}/${repo}:${tag} answers ${res.statusCode} after a successful copy`;
  return same(bytes, source.root) ? undefined : `${b.host}/${repo}:${tag} holds other manifest bytes than ${source.digest}`;
}

async function layoutMismatch(dir: string, tag: string, source: Source): Promise<string | undefined> {
  const layout = await OciLayout.open(dir);
  const desc = await layout.resolve(tag);
  if (desc.digest !== source.digest) return `oci:${dir}:${tag} names ${desc.digest}, not ${source.digest}`;
  const bytes = Buffer.from(await fetchAll(layout, desc, { limit: 4 * 1024 * 1024, what: "root" }));
  return same(bytes, source.root) ? undefined : `oci:${dir}:${tag} holds other bytes`;
}

/** A CLI failure is clean when --json printed our error document whose exit code is the process's and spec/cli.md's for its code. */
function cliFailure(code: number, stdout: string, stderr: string): Pick<Outcome, "result" | "code" | "detail"> {
  let doc: { error?: { code?: string; exit?: number; message?: string } };
  try {
    doc = JSON.parse(stdout);
  } catch {
    return { result: "bad-exit", detail: `exit ${code} without an error document: ${stdout}${stderr}` };
  }
  const err = doc.error;
  if (err?.code === undefined || err.code === "UNEXPECTED") return { result: "untyped", detail: `exit ${code}: ${stdout}${stderr}` };
  const expected = exitCodeFor(new OciError(err.code as OciError["code"], ""));
  if (err.exit !== code || code !== expected) return { result: "bad-exit", code: err.code, detail: `exit ${code}, document says ${err.exit}, spec says ${expected}: ${err.message}` };
  return { result: "clean-failure", code: err.code, detail: err.message };
}

async function freshDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(work, `${prefix}-`));
}

/** One operation; what it did to the content decides between success and corruption. */
async function operate(lane: Lane, index: number, kind: OpKind): Promise<Omit<Outcome, "faults" | "retriesSeen" | "rangeRequests" | "ms">> {
  const random = lane.random;
  const base = { lane: lane.id, index, kind, statRetries: 0, statResumes: 0 };
  const byTag = random() < 0.5;
  switch (kind) {
    case "pull-fresh":
    case "pull-shared":
    case "cli-pull": {
      const source = pick(kits, random);
      const shared = kind === "pull-shared";
      const store = shared ? lane.sharedStore : path.join(await freshDir("store"), "store");
      stores.add(store);
      // A fresh store by digest, a shared one by tag half the time (by digest it is often served locally).
      const ref = `${lane.src.host}/${source.repo}${shared && byTag ? ":v1" : `@${source.digest}`}`;
      const what = `pull ${ref} into ${shared ? "the lane's store" : "a fresh store"}`;
      if (kind === "cli-pull") {
        const run = await runKit(["pull", ref, "--json"], { env: { KIT_STORE: store, DOCKER_CONFIG: dockerConfig() }, timeoutMs: CLI_DEADLINE_MS });
        if (run.timedOut) return { ...base, what, result: "timeout", exit: run.code };
        if (run.code !== 0) return { ...base, what, exit: run.code, ...cliFailure(run.code, run.stdout, run.stderr) };
        const printed = JSON.parse(run.stdout) as { digest: string };
        const wrong = printed.digest !== source.digest ? `printed ${printed.digest}` : await kitMismatch(store, source);
        return { ...base, what, exit: 0, result: wrong === undefined ? "success" : "corrupt", ...(wrong ? { detail: wrong } : {}) };
      }
      const done = await withDeadline(() => pullKit(ref, { store, remote }), OP_DEADLINE_MS);
      if (done.timedOut) return { ...base, what, result: "timeout" };
      if (done.error !== undefined) return { ...base, what, ...failureOf(done.error) };
      const wrong = done.value!.digest !== source.digest ? `pulled ${done.value!.digest}` : await kitMismatch(store, source);
      return { ...base, what, result: wrong === undefined ? "success" : "corrupt", ...(wrong ? { detail: wrong } : {}) };
    }
    case "copy-registry":
    case "copy-layout":
    case "cli-copy": {
      const source = pick([...kits, ...images], random);
      const srcRef = `${lane.src.host}/${source.repo}${byTag ? ":v1" : `@${source.digest}`}`;
      const toLayout = kind === "copy-layout" || (kind === "cli-copy" && random() < 0.5);
      const fresh = random() < 0.5;
      let dstRef: string;
      let check: () => Promise<string | undefined>;
      if (toLayout) {
        const dir = fresh ? path.join(await freshDir("layout"), "layout") : lane.sharedLayout;
        const tag = fresh ? "v1" : source.name;
        layouts.add(dir);
        dstRef = `oci:${dir}:${tag}`;
        check = () => layoutMismatch(dir, tag, source);
      } else {
        const repo = fresh ? `copies/l${lane.id}-${index}` : `shared/${source.name}`;
        dstRef = `${lane.dst.host}/${repo}:v1`;
        check = () => registryMismatch(repo, "v1", source);
      }
      const what = `copy ${srcRef} → ${dstRef}`;
      if (kind === "cli-copy") {
        const run = await runKit(["copy", srcRef, dstRef, "--json"], { env: { KIT_STORE: path.join(work, "cli-copy-store"), DOCKER_CONFIG: dockerConfig() }, timeoutMs: CLI_DEADLINE_MS });
        if (run.timedOut) return { ...base, what, result: "timeout", exit: run.code };
        if (run.code !== 0) return { ...base, what, exit: run.code, ...cliFailure(run.code, run.stdout, run.stderr) };
        const printed = JSON.parse(run.stdout) as { digest: string; stats?: Record<string, unknown> };
        const wrong = printed.digest !== source.digest ? `printed ${printed.digest}` : await check();
        return { ...base, ...statFigures(printed.stats), what, exit: 0, result: wrong === undefined ? "success" : "corrupt", ...(wrong ? { detail: wrong } : {}) };
      }
      const done = await withDeadline((signal) => copyReference(srcRef, dstRef, { remote, signal }), OP_DEADLINE_MS);
      if (done.timedOut) return { ...base, what, result: "timeout" };
      if (done.error !== undefined) return { ...base, what, ...failureOf(done.error) };
      const result = done.value!;
      const wrong = result.root.digest !== source.digest ? `copied ${result.root.digest}` : await check();
      return { ...base, ...statFigures(result.stats), what, result: wrong === undefined ? "success" : "corrupt", ...(wrong ? { detail: wrong } : {}) };
    }
  }
}

/** Retry and resume counts from copy stats, when the library reports them. */
function statFigures(stats: object | undefined): { statRetries: number; statResumes: number } {
  const s = (stats ?? {}) as Record<string, unknown>;
  return { statRetries: typeof s.retries === "number" ? s.retries : 0, statResumes: typeof s.resumes === "number" ? s.resumes : 0 };
}

/** What the lane's proxies saw during one operation: faults, requests that repeated a faulted one, Range requests. */
function observe(records: ProxyRequestRecord[]): { faults: number; retriesSeen: number; rangeRequests: number } {
  const faulted = new Set<string>();
  let faults = 0;
  let retriesSeen = 0;
  let rangeRequests = 0;
  for (const r of records) {
    const key = `${r.method} ${new URL(r.url, "http://x").pathname}`;
    if (faulted.has(key)) retriesSeen++;
    if (r.range !== undefined) rangeRequests++;
    if (r.fault !== undefined) {
      faults++;
      faulted.add(key);
    }
  }
  return { faults, retriesSeen, rangeRequests };
}

async function runLane(lane: Lane, count: number, outcomes: Outcome[]): Promise<void> {
  lane.srcChaos = lane.src.chaos({ seed: laneSeed(lane.id) + 1, probability: FAULT_RATE, stallMs: STALL_MS });
  lane.dstChaos = lane.dst.chaos({ seed: laneSeed(lane.id) + 2, probability: FAULT_RATE, stallMs: STALL_MS });
  for (let index = 0; index < count; index++) {
    const kind = pickWeighted(lane.random);
    const [srcStart, dstStart] = [lane.src.requests.length, lane.dst.requests.length];
    const started = Date.now();
    const outcome = await operate(lane, index, kind);
    const records = [...lane.src.requests.slice(srcStart), ...lane.dst.requests.slice(dstStart)];
    const seen = observe(records);
    if (outcome.result !== "success" && outcome.result !== "clean-failure") {
      // Which faults it met, to reproduce the failure with a rule.
      const met = records.filter((r) => r.fault !== undefined).map((r) => `${r.fault} on ${r.method} ${r.url}`);
      outcome.detail = `${outcome.detail ?? ""}
    faults met: ${met.join("; ") || "none"}`;
    }
    outcomes.push({ ...outcome, ...seen, ms: Date.now() - started });
  }
  lane.srcChaos.stop();
  lane.dstChaos.stop();
}

interface Audits {
  stores: number;
  layouts: number;
  registry: RegistryAudit;
  problems: string[];
}

async function auditEverything(): Promise<Audits> {
  const problems: string[] = [];
  let storeCount = 0;
  let layoutCount = 0;
  for (const dir of stores) {
    const store = await KitStore.openIfExists(dir);
    if (store === undefined) continue;
    storeCount++;
    for (const p of (await store.verify()).problems) problems.push(`store ${dir}: ${p.message}`);
  }
  for (const dir of layouts) {
    const layout = await OciLayout.open(dir).catch(() => undefined);
    if (layout === undefined) continue;
    layoutCount++;
    for (const p of (await layout.verify()).problems) problems.push(`layout ${dir}: ${p.message}`);
  }
  const registry = await auditRegistry(b);
  problems.push(...registry.problems.map((p) => `registry ${b.host}: ${p}`));
  return { stores: storeCount, layouts: layoutCount, registry, problems };
}

function tally<T extends string>(items: readonly T[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[item] = (counts[item] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort(([x], [y]) => x.localeCompare(y)));
}

function report(outcomes: Outcome[], audits: Audits, seconds: number): string {
  const injected = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  let skipped = 0;
  let requests = 0;
  for (const lane of lanes) {
    for (const chaos of [lane.srcChaos!, lane.dstChaos!]) {
      for (const kind of FAULT_KINDS) injected[kind] += chaos.injected[kind];
      skipped += chaos.skipped;
    }
    requests += lane.src.requests.length + lane.dst.requests.length;
  }
  const total = Object.values(injected).reduce((x, y) => x + y, 0);
  const sum = (f: (o: Outcome) => number) => outcomes.reduce((s, o) => s + f(o), 0);
  const by = (result: Result) => outcomes.filter((o) => o.result === result);
  const kinds = tally(outcomes.map((o) => o.kind));
  const successKinds = tally(by("success").map((o) => o.kind));
  const lines = [
    `fault soak: seed ${SEED}, ${outcomes.length} operations in ${LANES} lanes, ${FAULT_RATE * 100} % of requests faulted, ${seconds.toFixed(1)} s`,
    `  operations: ${Object.entries(kinds).map(([k, n]) => `${k} ${n}`).join(", ")}`,
    `  requests through the proxies: ${requests}; faults injected: ${total} (${skipped} drawn with nothing to act on)`,
    `  faults by kind: ${FAULT_KINDS.map((k) => `${k} ${injected[k]}`).join(", ")}`,
    `  retries seen at the proxies: ${sum((o) => o.retriesSeen)}; Range requests (resumes): ${sum((o) => o.rangeRequests)}; copy stats: retries ${sum((o) => o.statRetries)}, resumes ${sum((o) => o.statResumes)}`,
    `  successes: ${by("success").length} (${Object.entries(successKinds).map(([k, n]) => `${k} ${n}`).join(", ")}); clean failures: ${by("clean-failure").length} by code ${JSON.stringify(tally(by("clean-failure").map((o) => o.code!)))}`,
    `  CLI exit codes: ${JSON.stringify(tally(outcomes.filter((o) => o.exit !== undefined).map((o) => String(o.exit))))}`,
    `  corruptions: ${by("corrupt").length}; untyped errors: ${by("untyped").length}; wrong exit codes: ${by("bad-exit").length}; timeouts (hangs): ${by("timeout").length}`,
    `  slowest operation: ${Math.max(...outcomes.map((o) => o.ms))} ms`,
    `  verified afterwards: ${audits.stores} stores, ${audits.layouts} layouts, destination registry ${audits.registry.repositories} repositories / ${audits.registry.manifests} manifests / ${audits.registry.blobs} blobs; problems: ${audits.problems.length}`,
  ];
  return lines.join("\n");
}

describe("fault soak", () => {
  it(
    `${OPERATIONS} pulls and copies through proxies faulting ${FAULT_RATE * 100} % of requests end in verified content or a typed error, leaving nothing corrupt`,
    async () => {
      const started = Date.now();
      const outcomes: Outcome[] = [];
      const share = (lane: Lane) => Math.floor(OPERATIONS / LANES) + (lane.id < OPERATIONS % LANES ? 1 : 0);
      await Promise.all(lanes.map((lane) => runLane(lane, share(lane), outcomes)));
      const audits = await auditEverything();
      console.log(report(outcomes, audits, (Date.now() - started) / 1000));

      const bad = outcomes.filter((o) => o.result !== "success" && o.result !== "clean-failure");
      for (const o of bad.slice(0, 10)) console.log(`  ${o.result}: lane ${o.lane} op ${o.index} ${o.what}: ${o.detail ?? ""}`);
      expect(outcomes).toHaveLength(OPERATIONS);
      expect(bad.map((o) => `${o.result}: ${o.what}: ${o.detail?.split("\n")[0] ?? ""}`)).toEqual([]);
      expect(audits.problems).toEqual([]);
      // The soak soaked: faults of every kind happened, and some operations got through.
      const injected = lanes.flatMap((l) => [l.srcChaos!, l.dstChaos!]).reduce((s, c) => s + c.total, 0);
      expect(injected).toBeGreaterThan(OPERATIONS / 2);
      expect(outcomes.filter((o) => o.result === "success").length).toBeGreaterThan(0);
    },
    TEST_BUDGET_MS,
  );
});
