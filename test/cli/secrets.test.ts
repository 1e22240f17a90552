/**
 * Credentials never reach output, messages or files: every command of a suite-like session (login,
 * push, pull, copy, tags, resolve, inspect, show, diff, manifest, ls, rm, gc, store verify, logout —
 * success and failure paths, with --debug and --json) against the real registry in htpasswd and token
 * mode, with a known password, its base64 and every bearer token grepped for in all stdout and stderr;
 * registries quoting the Authorization header back (the fault proxy with a status+body rule, and an
 * echoing stand-in); the files left behind; and a credential helper's argv and environment.
 */
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runKit, type CliResult } from "../support/cli.js";
import { startEchoRegistry, type EchoRegistry } from "../support/echo-registry.js";
import { startFaultProxy, type FaultProxy } from "../support/fault-proxy.js";
import { buildImage } from "../support/images.js";
import { basicAuthHeader, startRegistry, type RunningRegistry } from "../support/registry.js";
import { startTokenServer, type TokenServer } from "../support/token-server.js";

const USER = "alice";
const PASSWORD = "Suite-Pa55word-4417";
const WRONG = "Wrong-Pa55word-0815";
const b64 = (s: string): string => Buffer.from(s).toString("base64");
const SECRETS = [PASSWORD, WRONG, `${USER}:${PASSWORD}`, b64(`${USER}:${PASSWORD}`), b64(`${USER}:${WRONG}`), encodeURIComponent(PASSWORD)];
/** Every JWT (each bearer token the token server hands out) starts with base64url of `{"`. */
const JWT = /eyJ[A-Za-z0-9_-]{8,}/;
const REDACTED = "[redacted]";

/** The secrets (or a JWT) found in text: the test's one question about any output. */
function leaks(text: string): string[] {
  const found = SECRETS.filter((s) => text.includes(s));
  const jwt = JWT.exec(text);
  return jwt ? [...found, jwt[0]] : found;
}

interface Session {
  work: string;
  env: NodeJS.ProcessEnv;
  dockerConfig: string;
  /** Every command run, with what it printed. */
  runs: { args: string[]; result: CliResult }[];
}

/** Temp directories to remove when the file's tests are done. */
const temps: string[] = [];
afterAll(async () => {
  await Promise.all(temps.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function newSession(prefix: string): Promise<Session> {
  const work = await mkdtemp(path.join(tmpdir(), `kit-secrets-${prefix}-`));
  temps.push(work);
  const dirs = { home: path.join(work, "home"), tmp: path.join(work, "tmp"), docker: path.join(work, "home", ".docker"), store: path.join(work, "store") };
  for (const dir of Object.values(dirs)) await mkdir(dir, { recursive: true });
  // Keys of somebody else's config that login must keep.
  await writeFile(path.join(dirs.docker, "config.json"), JSON.stringify({ auths: { "other.example": { auth: b64("x:y") } }, currentContext: "keep-me" }));
  return {
    work,
    env: { HOME: dirs.home, TMPDIR: dirs.tmp, DOCKER_CONFIG: dirs.docker, KIT_STORE: dirs.store },
    dockerConfig: path.join(dirs.docker, "config.json"),
    runs: [],
  };
}

/** Run one command, expecting its exit code; its output is kept for the grep. */
async function kit(session: Session, args: string[], code: number, input?: string): Promise<CliResult> {
  const result = await runKit(args, { env: session.env, cwd: session.work, ...(input !== undefined ? { input } : {}) });
  session.runs.push({ args, result });
  expect(result.code, `kit ${args.join(" ")}\n${result.stderr}`).toBe(code);
  return result;
}

/** The failure path twice: plain, and with --debug (stack traces) and --json (the error document) where the command has it. */
async function fails(session: Session, args: string[], code: number, opts: { json?: boolean; input?: string } = {}): Promise<void> {
  const json = opts.json ?? true;
  await kit(session, args, code, opts.input);
  const debug = await kit(session, [...args, "--debug", ...(json ? ["--json"] : [])], code, opts.input);
  expect(debug.stderr).toMatch(/^\s+at /m); // a stack trace really was printed
  if (json) expect(JSON.parse(debug.stdout).error.exit).toBe(code);
}

/** Every file under dir (but the docker config, which holds the credentials by design) as [path, text]. */
async function filesUnder(dir: string, except: string): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const file = path.join(entry.parentPath, entry.name);
    if (entry.isFile() && file !== except) out.push([file, await readFile(file, "latin1")]);
  }
  return out;
}

async function kitDir(session: Session, registry: string, description: string): Promise<string> {
  const dir = await mkdtemp(path.join(session.work, "kit-"));
  await writeFile(
    path.join(dir, "kit.yaml"),
    `name: famiglia\nversion: "1.0.0"\ndescription: "${description}"\nimage: ${registry}/base/agent:latest\nexposes:\n  - port: 8080\n`,
  );
  await writeFile(path.join(dir, "README.md"), "# famiglia\n");
  return dir;
}

/** The suite: every command, success and failure, logged in as USER with PASSWORD. */
async function runSuite(session: Session, registry: string): Promise<void> {
  const kits = `${registry}/kits/famiglia`;
  await fails(session, ["resolve", `${kits}:1.0.0`], 6);
  await fails(session, ["login", registry, "-u", USER, "--password-stdin"], 6, { json: false, input: `${WRONG}\n` });
  await kit(session, ["login", registry, "-u", USER, "--password-stdin", "--debug"], 0, `${PASSWORD}\n`);

  // Saved in the Docker config only: atomically (no temp file left), mode 0600, other keys kept.
  expect((await stat(session.dockerConfig)).mode & 0o777).toBe(0o600);
  expect(await readdir(path.dirname(session.dockerConfig))).toEqual(["config.json"]);
  const saved = JSON.parse(await readFile(session.dockerConfig, "utf8"));
  expect(saved.currentContext).toBe("keep-me");
  expect(saved.auths["other.example"]).toEqual({ auth: b64("x:y") });
  expect(saved.auths[registry]).toEqual({ auth: b64(`${USER}:${PASSWORD}`) });

  await kit(session, ["push", `${kits}:1.0.0`, await kitDir(session, registry, "first"), "--json", "--debug"], 0);
  await kit(session, ["push", `${kits}:1.1.0`, await kitDir(session, registry, "second"), "--json"], 0);
  await kit(session, ["pull", `${kits}:1.0.0`, "--json", "--debug"], 0);
  await kit(session, ["pull", `${kits}:1.0.0`, "-o", path.join(session.work, "out")], 0);
  await kit(session, ["copy", `${kits}:1.0.0`, `${registry}/kits/copy:1.0.0`, "--json", "--debug"], 0);
  await kit(session, ["save", `${kits}:1.0.0`, "-o", path.join(session.work, "famiglia.tar"), "--json", "--debug"], 0);
  await kit(session, ["load", path.join(session.work, "famiglia.tar"), "--to", `${registry}/loaded`, "--json", "--debug"], 0);
  await kit(session, ["tags", kits, "--json"], 0);
  await kit(session, ["resolve", `${kits}:1.0.0`, "--json", "--debug"], 0);
  await kit(session, ["inspect", `${kits}:1.0.0`, "--json"], 0);
  await kit(session, ["inspect", `${kits}:1.0.0`], 0);
  await kit(session, ["show", `${kits}:1.1.0`], 0);
  await kit(session, ["show", `${kits}:1.1.0`, "--readme"], 0);
  await kit(session, ["diff", `${kits}:1.0.0`, `${kits}:1.1.0`, "--json", "--debug"], 0);
  await kit(session, ["manifest", `${kits}:1.0.0`], 0);
  await kit(session, ["ls", "--json"], 0);
  await kit(session, ["ls"], 0);
  await kit(session, ["store", "verify", "--json"], 0);
  await kit(session, ["rm", `${kits}:1.1.0`], 0);
  await kit(session, ["gc", "--json", "--debug"], 0);

  await fails(session, ["pull", `${kits}:nope`], 5);
  await fails(session, ["resolve", `${registry}/kits/missing:1`], 5);
  await fails(session, ["tags", `${registry}/kits/missing`], 5);
  await fails(session, ["manifest", `${kits}:nope`], 5, { json: false });
  await fails(session, ["show", `${kits}:nope`], 5, { json: false });
  await fails(session, ["diff", `${kits}:1.0.0`, `${kits}:nope`], 5);
  await fails(session, ["inspect", `${kits}:nope`], 5);
  await fails(session, ["copy", `${kits}:nope`, `${registry}/kits/copy:2`], 5);
  await fails(session, ["push", `${registry}/kits/bad:1`, path.join(session.work, "no-such-kit")], 5);
  await fails(session, ["rm", `${kits}:nope`], 5, { json: false });

  // Saved credentials that went stale: every command that uses them fails with 6, quoting none of them.
  const fresh = await readFile(session.dockerConfig, "utf8");
  await writeFile(session.dockerConfig, JSON.stringify({ auths: { [registry]: { auth: b64(`${USER}:${WRONG}`) } } }));
  await fails(session, ["pull", `${kits}:1.0.0`], 6);
  await fails(session, ["copy", `${kits}:1.0.0`, `${registry}/kits/copy:3`], 6);
  await fails(session, ["save", `${kits}:1.0.0`, "-o", path.join(session.work, "stale.tar")], 6);
  await fails(session, ["load", path.join(session.work, "famiglia.tar"), "--to", `${registry}/stale`], 6);
  await writeFile(session.dockerConfig, fresh, { mode: 0o600 });

  await kit(session, ["logout", registry, "--debug"], 0);
  await fails(session, ["logout", registry], 5, { json: false });
  await fails(session, ["push", `${kits}:2.0.0`, await kitDir(session, registry, "third")], 6);
}

/** After a suite: no output and no file (but the Docker config) holds a secret; outside blobs, not even a JWT. */
async function expectNothingLeaked(session: Session): Promise<void> {
  for (const { args, result } of session.runs) {
    expect(leaks(result.stdout + result.stderr), `kit ${args.join(" ")}`).toEqual([]);
  }
  for (const [file, text] of await filesUnder(session.work, session.dockerConfig)) {
    // Blobs are compressed bytes in which "eyJ…" could occur by chance; the fixed secrets cannot.
    const found = file.includes(`${path.sep}blobs${path.sep}`) ? SECRETS.filter((s) => text.includes(s)) : leaks(text);
    expect(found, file).toEqual([]);
  }
}

describe("htpasswd (Basic) registry", () => {
  let registry: RunningRegistry;
  let proxy: FaultProxy;

  beforeAll(async () => {
    registry = await startRegistry({ auth: "htpasswd", users: { [USER]: PASSWORD } });
    proxy = await startFaultProxy({ upstream: registry });
    await buildImage({ url: registry.url, repo: "base/agent", authorization: basicAuthHeader(USER, PASSWORD) }, { tag: "latest", seed: "secrets" });
  });
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
  });

  it("every command, success and failure, with --debug and --json: no password or base64 in any output or file", async () => {
    const session = await newSession("basic");
    await runSuite(session, registry.host);
    expect(session.runs.length).toBeGreaterThan(50);
    await expectNothingLeaked(session);
  }, 180_000); // over 50 real CLI runs in a row; generous for a loaded 2-core machine

  it("a registry error quoting the Authorization header (fault proxy status+body rule) is redacted in the message, --json and --debug", async () => {
    const session = await newSession("proxy");
    await kit(session, ["login", proxy.host, "-u", USER, "--password-stdin"], 0, PASSWORD);
    await buildImage({ url: proxy.url, repo: "kits/echo", authorization: basicAuthHeader(USER, PASSWORD) }, { tag: "v1", seed: "echo" });
    // Blob fetches come after the manifest's: the client has authenticated and knows what it sent.
    const quoted = `Authorization: ${basicAuthHeader(USER, PASSWORD)} (user ${USER}, password ${PASSWORD})`;
    const rule = proxy.addRule({ method: "GET", path: /\/blobs\/sha256:/, times: Infinity, status: 400, body: JSON.stringify({ errors: [{ code: "DENIED", message: quoted, detail: quoted }] }) });
    try {
      const plain = await kit(session, ["copy", `${proxy.host}/kits/echo:v1`, `oci:${path.join(session.work, "layout")}:v1`], 1);
      expect(plain.stderr).toContain(`DENIED: Authorization: ${REDACTED}`);
      const debug = await kit(session, ["copy", `${proxy.host}/kits/echo:v1`, `oci:${path.join(session.work, "layout")}:v1`, "--debug", "--json"], 1);
      expect(debug.stderr).toMatch(/^\s+at /m);
      expect(JSON.parse(debug.stdout).error.message).toContain(`Authorization: ${REDACTED}`);
      expect(rule.fired).toBeGreaterThanOrEqual(2);
    } finally {
      rule.remove();
    }
    await expectNothingLeaked(session);
  });
});

describe("token (Bearer) registry", () => {
  let tokens: TokenServer;
  let registry: RunningRegistry;
  let peer: EchoRegistry;

  beforeAll(async () => {
    tokens = await startTokenServer({ users: { [USER]: PASSWORD } });
    registry = await startRegistry({ auth: "token", tokenServer: tokens });
    peer = await startEchoRegistry({ challenge: { realm: tokens.realm, service: tokens.service }, status: 403 });
    await buildImage({ url: registry.url, repo: "base/agent", authorization: tokens.bearer("base/agent", ["pull", "push"], USER) }, { tag: "latest", seed: "secrets" });
  });
  afterAll(async () => {
    await peer?.stop();
    await registry?.stop();
    await tokens?.stop();
  });

  it("every command, success and failure, with --debug and --json: no password, base64 or token in any output or file", async () => {
    const session = await newSession("token");
    await runSuite(session, registry.host);
    expect(session.runs.length).toBeGreaterThan(50);
    expect(tokens.requests.some((r) => r.status === 200 && r.authScheme === "Basic")).toBe(true);
    await expectNothingLeaked(session);
  }, 180_000);

  it("a registry quoting the bearer token back is redacted in the message, --json and --debug", async () => {
    const session = await newSession("echo");
    const config = JSON.parse(await readFile(session.dockerConfig, "utf8"));
    config.auths[peer.host] = { auth: b64(`${USER}:${PASSWORD}`) };
    await writeFile(session.dockerConfig, JSON.stringify(config));
    const before = peer.echoed;
    await fails(session, ["pull", `${peer.host}/team/app:v1`], 6);
    await fails(session, ["show", `${peer.host}/team/app:v1`], 6, { json: false });
    const login = await kit(session, ["login", peer.host, "-u", USER, "--password-stdin", "--debug"], 6, PASSWORD);
    expect(login.stderr).toContain(`Authorization: ${REDACTED}`);
    expect(peer.echoed - before).toBeGreaterThanOrEqual(5);
    const last = session.runs.find((r) => r.args.includes("--json"))!;
    expect(JSON.parse(last.result.stdout).error.message).toContain(`Authorization: ${REDACTED}`);
    for (const { args, result } of session.runs) expect(leaks(result.stdout + result.stderr), `kit ${args.join(" ")}`).toEqual([]);
  });
});

describe("a credential helper", () => {
  let registry: RunningRegistry;

  beforeAll(async () => {
    registry = await startRegistry({ auth: "htpasswd", users: { [USER]: PASSWORD } });
    await buildImage({ url: registry.url, repo: "base/agent", authorization: basicAuthHeader(USER, PASSWORD) }, { tag: "latest", seed: "helper" });
  });
  afterAll(() => registry?.stop());

  it("gets the secret on stdin only: never in its argv or environment, and the Docker config holds none", async () => {
    const session = await newSession("helper");
    const spy = await mkdtemp(path.join(tmpdir(), "kit-helper-spy-"));
    temps.push(spy);
    const bin = path.join(spy, "bin");
    await mkdir(bin);
    // Logs argv, environment and stdin of every call; keeps what `store` was given for `get`.
    await writeFile(
      path.join(bin, "docker-credential-spy"),
      `#!/bin/sh
printf '%s\\n' "$0 $*" >> "${spy}/argv"
env >> "${spy}/env"
input=$(cat)
printf '%s %s\\n' "$1" "$input" >> "${spy}/stdin"
case "$1" in
  store) printf '%s' "$input" > "${spy}/stored" ;;
  get) if [ -f "${spy}/stored" ]; then cat "${spy}/stored"; else echo "credentials not found in native keychain"; exit 1; fi ;;
  erase) if [ -f "${spy}/stored" ]; then rm "${spy}/stored"; else echo "credentials not found in native keychain"; exit 1; fi ;;
esac
`,
    );
    await chmod(path.join(bin, "docker-credential-spy"), 0o755);
    await writeFile(session.dockerConfig, JSON.stringify({ credsStore: "spy" }));
    session.env.PATH = `${bin}:${process.env.PATH ?? ""}`;

    await kit(session, ["login", registry.host, "-u", USER, "--password-stdin"], 0, PASSWORD);
    await kit(session, ["push", `${registry.host}/kits/famiglia:1.0.0`, await kitDir(session, registry.host, "helper"), "--debug"], 0);
    await kit(session, ["pull", `${registry.host}/kits/famiglia:1.0.0`, "--json"], 0);
    await kit(session, ["logout", registry.host], 0);

    const argv = await readFile(path.join(spy, "argv"), "utf8");
    expect(argv).toMatch(/docker-credential-spy store\n/);
    expect(argv).toMatch(/docker-credential-spy get\n/);
    expect(argv).toMatch(/docker-credential-spy erase\n/);
    expect(leaks(argv)).toEqual([]);
    expect(leaks(await readFile(path.join(spy, "env"), "utf8"))).toEqual([]);
    // The channel it did travel by.
    expect(await readFile(path.join(spy, "stdin"), "utf8")).toContain(`"Secret":"${PASSWORD}"`);
    expect(JSON.parse(await readFile(session.dockerConfig, "utf8"))).toEqual({ credsStore: "spy" });
    for (const { args, result } of session.runs) expect(leaks(result.stdout + result.stderr), `kit ${args.join(" ")}`).toEqual([]);
    for (const [file, text] of await filesUnder(session.work, "")) expect(SECRETS.filter((s) => text.includes(s)), file).toEqual([]);
  });
});
