/**
 * HTTP_PROXY / HTTPS_PROXY / NO_PROXY as the built CLI reads them, against the real registry behind a
 * real forwarding proxy (test/support/http-proxy.ts). The registry is named `registry.kit.test:PORT`,
 * which only the proxy resolves, so a command that succeeds under that name went through the proxy.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runKit } from "../support/cli.js";
import { startHttpProxy, type HttpProxy } from "../support/http-proxy.js";
import { buildImage } from "../support/images.js";
import { freePort, startRegistry, type RunningRegistry } from "../support/registry.js";

const PROXY_USER = "proxy-user";
const PROXY_PASSWORD = "pr0xy-s3cret";

let registry: RunningRegistry;
let proxy: HttpProxy;
let work: string;
let viaName: string;
let proxyUrl: string;
let baseDigest: string;

/** The environment of a run: no proxy variable from the outside world, then these. */
function env(vars: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    KIT_STORE: path.join(work, `store-${Math.random().toString(36).slice(2)}`),
    DOCKER_CONFIG: path.join(work, "no-docker-config"),
    http_proxy: "",
    https_proxy: "",
    no_proxy: "",
    HTTP_PROXY: "",
    HTTPS_PROXY: "",
    NO_PROXY: "",
    ...vars,
  };
}

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), "kit-proxy-"));
  registry = await startRegistry();
  viaName = `registry.kit.test:${registry.port}`;
  proxy = await startHttpProxy({ routes: { [viaName]: registry.host }, credentials: { user: PROXY_USER, password: PROXY_PASSWORD } });
  proxyUrl = `http://${PROXY_USER}:${PROXY_PASSWORD}@127.0.0.1:${proxy.port}`;
  baseDigest = (await buildImage({ url: registry.url, repo: "base/agent" }, { tag: "latest", seed: "proxy-base" })).digest;
  const dir = path.join(work, "kit");
  await mkdir(dir);
  await writeFile(path.join(dir, "kit.yaml"), `name: proxied\nversion: "1.0.0"\nimage: ${viaName}/base/agent:latest\n`);
  await writeFile(path.join(dir, "README.md"), "# proxied\n");
});

afterAll(async () => {
  await proxy?.stop();
  await registry?.stop();
  await rm(work, { recursive: true, force: true });
});

describe("HTTP_PROXY", () => {
  it("carries push (with its image pinning), pull and copy through the proxy, with the proxy's credentials", async () => {
    const before = proxy.count({ kind: "forward", status: 200 });
    const push = await runKit(["push", "--plain-http", `${viaName}/kits/proxied:1.0.0`, path.join(work, "kit"), "--json"], { env: env({ HTTP_PROXY: proxyUrl }) });
    expect(push.stderr).toBe("");
    expect(push.code).toBe(0);
    expect(JSON.parse(push.stdout).image).toBe(`${viaName}/base/agent:latest@${baseDigest}`);

    const pull = await runKit(["pull", "--plain-http", `${viaName}/kits/proxied:1.0.0`, "--json"], { env: env({ http_proxy: proxyUrl }) });
    expect(pull.code).toBe(0);
    expect(JSON.parse(pull.stdout).digest).toBe(JSON.parse(push.stdout).digest);

    const copy = await runKit(["copy", "--plain-http", `${viaName}/base/agent:latest`, `${viaName}/mirror/agent:latest`], { env: env({ HTTP_PROXY: proxyUrl }) });
    expect(copy.code).toBe(0);
    expect(proxy.count({ kind: "forward", status: 200 }) - before).toBeGreaterThan(5);
    expect(proxy.count({ status: 407 })).toBe(0);
    for (const r of [push, pull, copy]) expect(r.stdout + r.stderr).not.toContain(PROXY_PASSWORD);
  });

  it("does not use the proxy for hosts in NO_PROXY", async () => {
    const before = proxy.requests.length;
    const result = await runKit(["resolve", "--plain-http", `${viaName}/base/agent:latest`], {
      env: env({ HTTP_PROXY: proxyUrl, NO_PROXY: "example.com, .kit.test" }),
    });
    // Connecting directly, the name does not resolve: proof that the proxy was bypassed.
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^kit: error: cannot reach ${viaName.replace(/\./g, "\\.")}: `));
    expect(proxy.requests.length).toBe(before);
  });

  it("never uses the proxy for a loopback registry", async () => {
    const before = proxy.requests.length;
    const result = await runKit(["resolve", `${registry.host}/base/agent:latest`], { env: env({ HTTP_PROXY: proxyUrl }) });
    expect(result.stdout).toBe(`${registry.host}/base/agent@${baseDigest}\n`);
    expect(proxy.requests.length).toBe(before);
  });

  it("names an unreachable proxy in the error (exit 1), never its credentials, also in --json", async () => {
    const port = await freePort();
    const result = await runKit(["pull", "--plain-http", `${viaName}/kits/proxied:1.0.0`, "--json"], {
      env: env({ HTTP_PROXY: `http://${PROXY_USER}:${PROXY_PASSWORD}@127.0.0.1:${port}` }),
    });
    expect(result.code).toBe(1);
    expect(result.stderr.split("\n")[0]).toBe(`kit: error: cannot reach the proxy http://127.0.0.1:${port} for ${viaName}: connection refused`);
    expect(JSON.parse(result.stdout).error).toMatchObject({ code: "NETWORK", exit: 1 });
    expect(result.stdout + result.stderr).not.toMatch(/pr0xy-s3cret|proxy-user/);
  });

  it("explains a proxy that wants credentials", async () => {
    const result = await runKit(["resolve", "--plain-http", `${viaName}/base/agent:latest`], { env: env({ HTTP_PROXY: `http://127.0.0.1:${proxy.port}` }) });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `kit: error: the proxy http://127.0.0.1:${proxy.port} refused the request for ${viaName}: proxy authentication required (407)\n` +
        "kit: hint: give the proxy's user name and password in its URL, as user-info before the host (as curl and docker take them)\n",
    );
  });

  it("refuses a proxy variable that is not a URL with a usage error that does not quote it", async () => {
    const result = await runKit(["resolve", "--plain-http", `${viaName}/base/agent:latest`], { env: env({ HTTPS_PROXY: "http://user:pr0xy-s3cret@[nonsense" }) });
    expect(result.code).toBe(2);
    expect(result.stderr.split("\n")[0]).toBe("kit: error: HTTPS_PROXY is not a proxy URL");
    expect(result.stderr).not.toContain(PROXY_PASSWORD);
  });
});
