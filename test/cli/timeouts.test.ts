/**
 * Time limits, retries and resumed blobs through the built CLI, against the real registry behind the
 * fault proxy: a stalled registry fails with exit 1 and a message saying what it waited for, never a
 * bare undici error; a pull through one reset per blob completes with Range requests; --debug shows
 * each retry; `kit copy --json` counts them.
 */
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseDuration, timeoutsFrom } from "../../src/cli/timeout-options.js";
import { UsageError } from "../../src/oras/errors.js";
import { runKit, type CliResult } from "../support/cli.js";
import { buildImage } from "../support/images.js";
import { proxiedRegistry } from "../support/proxied-registry.js";

/** Far longer than any limit given below. */
const STALL_MS = 40_000;
/** "Finished well before the stall", generous for a loaded machine. */
const PROMPTLY_MS = 15_000;
const README = `# famiglia\n\n${"Team agents, described at some length. ".repeat(60)}\n`;

const env = proxiedRegistry();
let work: string;
let kit: { digest: string; blobs: { digest: string; size: number }[] };

async function temp(prefix: string): Promise<string> {
  return mkdtemp(path.join(work, `${prefix}-`));
}

function storeEnv(store: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { KIT_STORE: store, DOCKER_CONFIG: path.join(work, "no-docker-config"), ...extra };
}

async function timedKit(args: string[], extra: Record<string, string> = {}): Promise<CliResult & { ms: number }> {
  const start = Date.now();
  const result = await runKit(args, { env: storeEnv(await temp("store"), extra) });
  return { ...result, ms: Date.now() - start };
}

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), "kit-timeouts-"));
  const { registry } = env;
  await buildImage({ url: registry.url, repo: "base/agent" }, { tag: "latest", seed: "timeouts-base" });
  const dir = await temp("kit");
  await writeFile(
    path.join(dir, "kit.yaml"),
    `name: famiglia\nversion: "1.0.0"\ndescription: "Team agents"\nimage: ${registry.host}/base/agent:latest\nexposes:\n  - port: 8080\n`,
  );
  await writeFile(path.join(dir, "README.md"), README);
  const push = await runKit(["push", `${registry.host}/kits/famiglia:1.0.0`, dir, "--json"], { env: storeEnv(await temp("store")) });
  expect(push.code, push.stderr).toBe(0);
  const digest = JSON.parse(push.stdout).digest as string;
  const manifest = (await (await fetch(`${registry.url}/v2/kits/famiglia/manifests/${digest}`, { headers: { accept: "application/vnd.oci.image.manifest.v1+json" } })).json()) as {
    config: { digest: string; size: number };
    layers: { digest: string; size: number }[];
  };
  kit = { digest, blobs: [manifest.config, ...manifest.layers] };
});

const ref = () => `${env.proxy.host}/kits/famiglia:1.0.0`;

describe("durations", () => {
  it("parse as ms, s, m, h or bare seconds; 0 is no limit", () => {
    expect(["500ms", "30s", "1.5s", "2m", "1h", "45", "0"].map((t) => parseDuration(t, "--timeout"))).toEqual([500, 30_000, 1500, 120_000, 3_600_000, 45_000, 0]);
    expect(() => parseDuration("soon", "--timeout")).toThrow(UsageError);
    expect(() => parseDuration("-1s", "--timeout")).toThrow(/invalid --timeout "-1s"/);
    expect(() => parseDuration("25h", "KIT_TIMEOUT")).toThrow(/invalid KIT_TIMEOUT "25h".*at most 24h/);
  });

  it("come from the flags over the KIT_* variables", () => {
    const fromEnv = { KIT_TIMEOUT: "5m", KIT_CONNECT_TIMEOUT: "2s", KIT_HEADERS_TIMEOUT: "10s", KIT_IDLE_TIMEOUT: "" };
    expect(timeoutsFrom({}, fromEnv)).toEqual({ operationMs: 300_000, connectMs: 2000, headersMs: 10_000 });
    expect(timeoutsFrom({ timeout: "1m", idleTimeout: "3s" }, fromEnv)).toEqual({ operationMs: 60_000, connectMs: 2000, headersMs: 10_000, idleBodyMs: 3000 });
    expect(timeoutsFrom({}, {})).toEqual({});
  });

  it("that do not parse are usage errors (exit 2), from a flag or the environment", async () => {
    const flag = await timedKit(["resolve", ref(), "--timeout", "soon"]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/^kit: error: invalid --timeout "soon": use a duration such as 500ms, 30s, 2m or 1h/);
    const variable = await timedKit(["resolve", ref()], { KIT_IDLE_TIMEOUT: "5x" });
    expect(variable.code).toBe(2);
    expect(variable.stderr).toMatch(/^kit: error: invalid KIT_IDLE_TIMEOUT "5x"/);
  });
});

describe("a stalled registry", () => {
  it("that sends no headers fails within --headers-timeout, exit 1, naming the registry and the request", async () => {
    env.proxy.addRule({ method: "GET", path: /\/manifests\/1\.0\.0$/, delayMs: STALL_MS, times: Infinity });
    for (const [args, extra] of [
      [["--headers-timeout", "1s"], {}],
      [[], { KIT_HEADERS_TIMEOUT: "1s" }],
    ] as const) {
      const result = await timedKit(["pull", ref(), ...args], extra);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(new RegExp(`^kit: error: ${env.proxy.host} sent no response headers for 1 s to GET /v2/kits/famiglia/manifests/1\\.0\\.0\nkit: hint: `));
      expect(result.ms).toBeLessThan(PROMPTLY_MS);
    }
  });

  it("is given up on at --timeout", async () => {
    env.proxy.addRule({ method: "GET", path: /\/manifests\/1\.0\.0$/, delayMs: STALL_MS, times: Infinity });
    const result = await timedKit(["pull", ref(), "--timeout", "1s", "--json"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`kit: error: gave up on fetch manifest 1.0.0 in ${env.proxy.host}/kits/famiglia: not done within the operation deadline of 1 s`);
    expect(JSON.parse(result.stdout).error).toMatchObject({ code: "NETWORK", exit: 1 });
    expect(result.ms).toBeLessThan(PROMPTLY_MS);
  });

  it("that stops mid-blob fails within --idle-timeout, naming the blob and the bytes received", async () => {
    const victim = kit.blobs[2]!;
    env.proxy.addRule({ method: "GET", path: new RegExp(`/blobs/${victim.digest}$`), stallAfterBytes: 10, times: Infinity });
    const result = await timedKit(["pull", ref(), "--idle-timeout", "1s"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${env.proxy.host} stopped sending the body of blob ${victim.digest} from ${env.proxy.host}/kits/famiglia after 10 bytes, idle for 1 s`);
    expect(result.stderr).not.toMatch(/Body Timeout Error/i);
    expect(result.ms).toBeLessThan(PROMPTLY_MS);
  });

  it("that resets every blob fails with a NetworkError naming the registry, never a bare ECONNRESET", async () => {
    const victim = kit.blobs[1]!;
    env.proxy.addRule({ method: "GET", path: new RegExp(`/blobs/${victim.digest}$`), resetAfterBytes: 20, times: Infinity });
    const result = await timedKit(["pull", ref()]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^kit: error: .*connection to ${env.proxy.host} broke while reading blob ${victim.digest} .*after \\d+ bytes: connection closed unexpectedly`, "m"));
    expect(result.stderr).not.toMatch(/^kit: error: (read ECONNRESET|other side closed)/m);
  });
});

describe("retries", () => {
  it("complete a pull through one reset per blob with Range requests: the kit is byte-identical and the store verifies", async () => {
    const cuts = kit.blobs.map((b) => Math.floor(b.size / 2));
    kit.blobs.forEach((b, i) => env.proxy.addRule({ method: "GET", path: new RegExp(`/blobs/${b.digest}$`), resetAfterBytes: cuts[i]! }));
    const store = await temp("store");
    const out = await temp("out");
    const result = await runKit(["--debug", "pull", ref(), "-o", out, "--json"], { env: storeEnv(store) });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).digest).toBe(kit.digest);
    kit.blobs.forEach((b, i) => {
      const gets = env.proxy.requests.filter((q) => q.method === "GET" && q.url.endsWith(`/blobs/${b.digest}`));
      expect(gets.map((q) => [q.range, q.status])).toEqual([
        [undefined, 200],
        [`bytes=${cuts[i]}-`, 206],
      ]);
      expect(result.stderr).toContain(
        `kit: debug: ${env.proxy.host}: blob ${b.digest}: broke after ${cuts[i]} bytes (connection closed unexpectedly); resuming from byte ${cuts[i]}\n`,
      );
    });
    expect(await readFile(path.join(out, "README.md"), "utf8")).toBe(README);
    const verify = await runKit(["store", "verify", "--json"], { env: storeEnv(store) });
    expect(verify.code).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, problems: [] });
  });

  it("of a 503 with Retry-After are shown with --debug, one line each", async () => {
    env.proxy.addRule({ path: /\/manifests\/1\.0\.0$/, status: 503, headers: { "Retry-After": "1" }, times: 2 });
    const result = await runKit(["resolve", ref(), "--debug"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${env.proxy.host}/kits/famiglia@${kit.digest}\n`);
    const lines = result.stderr.split("\n").filter((l) => l.startsWith("kit: debug:"));
    expect(lines).toEqual([
      `kit: debug: ${env.proxy.host}: HEAD /v2/kits/famiglia/manifests/1.0.0: answered 503; attempt 2 in 1 s`,
      `kit: debug: ${env.proxy.host}: HEAD /v2/kits/famiglia/manifests/1.0.0: answered 503; attempt 3 in 1 s`,
    ]);
  });

  it("are silent without --debug", async () => {
    env.proxy.addRule({ path: /\/manifests\/1\.0\.0$/, status: 503, headers: { "Retry-After": "1" }, times: 1 });
    const result = await runKit(["resolve", ref()]);
    expect(result).toMatchObject({ code: 0, stderr: "" });
  });

  it("and resumes are counted in kit copy --json", async () => {
    kit.blobs.forEach((b) => env.proxy.addRule({ method: "GET", path: new RegExp(`/blobs/${b.digest}$`), resetAfterBytes: Math.floor(b.size / 2) }));
    env.proxy.addRule({ path: /\/manifests\/1\.0\.0$/, status: 502, times: 1 });
    const layout = await temp("layout");
    const result = await runKit(["copy", ref(), `oci:${layout}:1.0.0`, "--json"]);
    expect(result.code, result.stderr).toBe(0);
    const doc = JSON.parse(result.stdout);
    expect(doc.digest).toBe(kit.digest);
    expect(doc.stats).toMatchObject({ uploaded: 1 + kit.blobs.length, retries: 1, resumes: kit.blobs.length });
    const verify = await runKit(["store", "verify", "--layout", layout, "--json"]);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, blobs: 1 + kit.blobs.length });
  });
});
