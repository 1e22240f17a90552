/**
 * Ten `kit login` (and `kit logout`) processes writing one Docker config at
 * once, against a real registry (htpasswd) reached through ten loopback
 * origins, so that every login is keyed by its own host: every one must be
 * saved, every other key kept. Without the config lock, only a few survived.
 */
import { mkdir, mkdtemp, readdir, readFile, stat, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runKit } from "../support/cli.js";
import { startFaultProxy, type FaultProxy } from "../support/fault-proxy.js";
import { startRegistry, type RunningRegistry } from "../support/registry.js";

const USER = "alice";
const PASSWORD = "c0ncurrent-Pa55";
const LOGINS = 10;

let registry: RunningRegistry;
let origins: FaultProxy[] = [];
let work: string;

beforeAll(async () => {
  registry = await startRegistry({ auth: "htpasswd", users: { [USER]: PASSWORD } });
  origins = await Promise.all(Array.from({ length: LOGINS }, () => startFaultProxy({ upstream: registry })));
  work = await mkdtemp(path.join(tmpdir(), "kit-login-concurrency-"));
});
afterAll(async () => {
  await Promise.all(origins.map((o) => o.stop()));
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

const login = (host: string, env: NodeJS.ProcessEnv) => runKit(["login", host, "-u", USER, "--password-stdin"], { input: `${PASSWORD}\n`, env });

async function savedConfig(dir: string): Promise<{ auths: Record<string, { auth: string }>; [key: string]: unknown }> {
  return JSON.parse(await readFile(path.join(dir, "config.json"), "utf8"));
}

describe("concurrent kit login and kit logout into one Docker config", () => {
  it("saves every one of 10 logins started at once, keeping the other keys, and 10 logouts remove each", async () => {
    const dir = path.join(work, "docker");
    await mkdir(dir);
    await writeFile(path.join(dir, "config.json"), JSON.stringify({ auths: { "other.example.com": { auth: "eDp5" } }, currentContext: "keep-me" }));
    const env = { DOCKER_CONFIG: dir };
    const hosts = origins.map((o) => o.host);

    const logins = await Promise.all(hosts.map((host) => login(host, env)));
    for (const [i, result] of logins.entries()) {
      expect(result, result.stderr).toMatchObject({ code: 0 });
      expect(result.stdout).toContain(`Login succeeded for ${hosts[i]}`);
    }
    const saved = await savedConfig(dir);
    expect(Object.keys(saved.auths).sort()).toEqual([...hosts, "other.example.com"].sort());
    for (const host of hosts) expect(Buffer.from(saved.auths[host]!.auth, "base64").toString()).toBe(`${USER}:${PASSWORD}`);
    expect(saved.currentContext).toBe("keep-me");
    expect((await stat(path.join(dir, "config.json"))).mode & 0o777).toBe(0o600);
    // No lock file or temp file left behind.
    expect(await readdir(dir)).toEqual(["config.json"]);

    // Half log out while the other half log in again: each outcome lands.
    const [out, back] = [hosts.slice(0, 5), hosts.slice(5)];
    const mixed = await Promise.all([...out.map((host) => runKit(["logout", host], { env })), ...back.map((host) => login(host, env))]);
    for (const result of mixed) expect(result, result.stderr).toMatchObject({ code: 0 });
    expect(Object.keys((await savedConfig(dir)).auths).sort()).toEqual([...back, "other.example.com"].sort());

    const logouts = await Promise.all(back.map((host) => runKit(["logout", host], { env })));
    for (const result of logouts) expect(result, result.stderr).toMatchObject({ code: 0 });
    const after = await savedConfig(dir);
    expect(after).toEqual({ auths: { "other.example.com": { auth: "eDp5" } }, currentContext: "keep-me" });
    expect(await readdir(dir)).toEqual(["config.json"]);
  });
});
