/**
 * Launcher for the real CNCF distribution registry (Debian's `docker-registry`, 2.8) on a free loopback port.
 *
 * Every integration test talks to a real registry started here. Always stop it in `afterAll`:
 *
 *   let registry: RunningRegistry;
 *   beforeAll(async () => { registry = await startRegistry(); });
 *   afterAll(async () => { await registry?.stop(); });
 *
 * A registry is also killed when this process exits (the 'exit' hook below) and, through a tiny
 * watchdog that waits on a pipe from us, even when this process is killed with SIGKILL.
 */
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { access, mkdtemp, rm, writeFile } from "node:fs/promises";
import { constants as fsConstants, rmSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify as toYaml } from "yaml";

export const REGISTRY_BINARY = "/usr/bin/docker-registry";
export const HTPASSWD_BINARY = "/usr/bin/htpasswd";
const INSTALL_HINT = "install it with: sudo apt-get install -y docker-registry skopeo apache2-utils";

const STARTUP_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;
const PORT_ATTEMPTS = 5;
const STDERR_TAIL_BYTES = 64 * 1024;

/** What a registry in token mode needs to know about the token server (a started TokenServer satisfies it). */
export interface TokenServerConfig {
  realm: string;
  service: string;
  issuer: string;
  rootCertPath: string;
}

export interface StartRegistryOptions {
  /** "none" (default): anonymous read/write. "htpasswd": Basic auth against `users`. "token": bearer tokens from `tokenServer`. */
  auth?: "none" | "htpasswd" | "token";
  /** htpasswd mode: user name -> password. Defaults to { testuser: "testpassword" }. */
  users?: Record<string, string>;
  /** Required in token mode. */
  tokenServer?: TokenServerConfig;
  /** Use this directory for blobs instead of a fresh temp dir; it is then left in place by stop(). */
  storageDir?: string;
  /** storage.delete.enabled; default true. */
  deleteEnabled?: boolean;
  /** Top-level config sections merged over the generated config (e.g. { proxy: { remoteurl } }). */
  extraConfig?: Record<string, unknown>;
}

export interface RunningRegistry {
  /** "127.0.0.1:PORT", as used in references. */
  host: string;
  /** "http://127.0.0.1:PORT" */
  url: string;
  port: number;
  storageDir: string;
  configPath: string;
  auth: "none" | "htpasswd" | "token";
  /** htpasswd mode: the accepted users (test fixtures, not real secrets). */
  users: Record<string, string>;
  /** The last 64 KiB the registry wrote to stderr, for diagnosing failures. */
  stderr(): string;
  /** Kill the registry, wait until it has exited (port closed), remove the temp dirs. Idempotent. */
  stop(): Promise<void>;
}

const DEFAULT_USERS: Record<string, string> = { testuser: "testpassword" };

/** `Authorization` header value for Basic credentials. */
export function basicAuthHeader(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
}

/** A port that was free a moment ago; the caller must cope with losing the race to another process. */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("could not determine a free port");
  return address.port;
}

export async function startRegistry(opts: StartRegistryOptions = {}): Promise<RunningRegistry> {
  await requireExecutable(REGISTRY_BINARY, "the CNCF distribution registry (docker-registry)");
  const auth = opts.auth ?? "none";
  if (auth === "token" && opts.tokenServer === undefined) {
    throw new Error('startRegistry: auth "token" needs opts.tokenServer (start one with startTokenServer())');
  }
  const users = auth === "htpasswd" ? { ...(opts.users ?? DEFAULT_USERS) } : {};

  const workDir = await mkdtemp(join(tmpdir(), "kit-registry-"));
  const storageDir = opts.storageDir ?? join(workDir, "storage");
  const configPath = join(workDir, "config.yml");
  try {
    let authSection: Record<string, unknown> | undefined;
    if (auth === "htpasswd") {
      const htpasswdPath = join(workDir, "htpasswd");
      await writeFile(htpasswdPath, await htpasswdLines(users), { mode: 0o600 });
      authSection = { htpasswd: { realm: "kit-test-registry", path: htpasswdPath } };
    } else if (auth === "token") {
      const ts = opts.tokenServer!;
      authSection = {
        token: { realm: ts.realm, service: ts.service, issuer: ts.issuer, rootcertbundle: ts.rootCertPath },
      };
    }

    let lastError: Error | undefined;
    for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
      const port = await freePort();
      const config: Record<string, unknown> = {
        version: "0.1",
        // "error", not "warn": warn logs every unauthenticated request, which auth tests make on purpose.
        log: { level: "error", formatter: "text", accesslog: { disabled: true } },
        storage: {
          filesystem: { rootdirectory: storageDir },
          delete: { enabled: opts.deleteEnabled ?? true },
          maintenance: { uploadpurging: { enabled: false } },
        },
        http: { addr: `127.0.0.1:${port}`, secret: randomBytes(16).toString("hex") },
        ...(authSection === undefined ? {} : { auth: authSection }),
        ...opts.extraConfig,
      };
      await writeFile(configPath, toYaml(config));
      const proc = launch(configPath, workDir);
      try {
        await waitUntilReady(proc, port);
      } catch (error) {
        await proc.kill();
        lastError = error as Error;
        // Another process took the port between freePort() and the registry's bind: try a new one.
        if (/address already in use/i.test(proc.stderrTail())) continue;
        throw error;
      }
      return makeRunning(proc, { port, storageDir, configPath, auth, users, workDir });
    }
    throw lastError ?? new Error("docker-registry could not bind a port");
  } catch (error) {
    await rm(workDir, { recursive: true, force: true });
    throw error;
  }
}

async function requireExecutable(path: string, what: string): Promise<void> {
  try {
    await access(path, fsConstants.X_OK);
  } catch {
    throw new Error(
      `${path} (${what}) is missing: integration tests need it and are never skipped; ${INSTALL_HINT}`,
    );
  }
}

async function htpasswdLines(users: Record<string, string>): Promise<string> {
  await requireExecutable(HTPASSWD_BINARY, "htpasswd from apache2-utils");
  const lines: string[] = [];
  for (const [user, password] of Object.entries(users)) {
    // -C 4: the lowest bcrypt cost; the registry checks it on every request and two cores are shared.
    const out = await new Promise<string>((resolve, reject) => {
      execFile(HTPASSWD_BINARY, ["-Bbn", "-C", "4", user, password], (error, stdout) => {
        if (error) reject(new Error(`htpasswd failed for user "${user}": exit ${String(error.code)}`));
        else resolve(stdout);
      });
    });
    lines.push(out.trim());
  }
  return lines.join("\n") + "\n";
}

interface LaunchedProcess {
  child: ChildProcess;
  /** Config, htpasswd and (unless the caller chose one) storage: removed whenever the registry is. */
  workDir: string;
  exited: Promise<void>;
  hasExited(): boolean;
  stderrTail(): string;
  kill(): Promise<void>;
}

const live = new Set<LaunchedProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous; SIGKILL is, and the kernel does the rest.
  process.on("exit", () => {
    for (const proc of live) {
      proc.child.kill("SIGKILL");
      rmSync(proc.workDir, { recursive: true, force: true });
    }
  });
}

function launch(configPath: string, workDir: string): LaunchedProcess {
  installExitHook();
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("REGISTRY_")));
  const child = spawn(REGISTRY_BINARY, ["serve", configPath], { stdio: ["ignore", "ignore", "pipe"], env });
  let tail = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => {
    tail = (tail + chunk).slice(-STDERR_TAIL_BYTES);
  });
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) => {
    child.once("exit", () => {
      exited = true;
      resolve();
    });
    child.once("error", (error) => {
      tail += `\nspawn error: ${error.message}`;
      exited = true;
      resolve();
    });
  });
  const watchdog = startWatchdog(child.pid, workDir);
  const proc: LaunchedProcess = {
    child,
    workDir,
    exited: exitedPromise,
    hasExited: () => exited,
    stderrTail: () => tail,
    async kill() {
      // The watchdog goes first so it can never fire at a recycled pid.
      watchdog?.kill("SIGKILL");
      if (!exited) child.kill("SIGKILL");
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        exitedPromise,
        new Promise<void>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`docker-registry (pid ${child.pid}) did not exit within ${STOP_TIMEOUT_MS} ms`)),
            STOP_TIMEOUT_MS,
          );
        }),
      ]).finally(() => clearTimeout(timer));
      live.delete(proc);
    },
  };
  live.add(proc);
  exitedPromise.then(() => {
    watchdog?.kill("SIGKILL");
    live.delete(proc);
  });
  // Do not keep a test process alive just because a registry is running; the exit hook kills it.
  child.unref();
  (child.stderr as net.Socket | null)?.unref?.();
  return proc;
}

/**
 * A `sh` that blocks reading a pipe only we hold the write end of. If this process dies in any way
 * (even SIGKILL), the pipe closes, `cat` returns, and the registry is killed and its temp dir removed.
 * Its own process group keeps it alive through a Ctrl-C aimed at ours.
 */
function startWatchdog(pid: number | undefined, workDir: string): ChildProcess | undefined {
  if (pid === undefined) return undefined;
  const script = 'cat >/dev/null; kill -9 "$1" 2>/dev/null; sleep 0.2; rm -rf -- "$2"';
  const watchdog = spawn("/bin/sh", ["-c", script, "kit-registry-watchdog", String(pid), workDir], {
    stdio: ["pipe", "ignore", "ignore"],
    detached: true,
  });
  watchdog.on("error", () => {});
  watchdog.stdin!.on("error", () => {});
  watchdog.unref();
  (watchdog.stdin as unknown as net.Socket).unref?.();
  return watchdog;
}

async function waitUntilReady(proc: LaunchedProcess, port: number): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  for (;;) {
    if (proc.hasExited()) {
      throw new Error(`docker-registry exited during startup on port ${port}; stderr:\n${proc.stderrTail() || "(empty)"}`);
    }
    const status = await probe(port);
    // 401 is the healthy answer of a registry that requires auth.
    if (status === 200 || status === 401) return;
    if (Date.now() > deadline) {
      throw new Error(
        `docker-registry did not answer GET /v2/ on 127.0.0.1:${port} within ${STARTUP_TIMEOUT_MS} ms; stderr:\n${
          proc.stderrTail() || "(empty)"
        }`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function probe(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = http.get({ host: "127.0.0.1", port, path: "/v2/", agent: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(undefined));
  });
}

function makeRunning(
  proc: LaunchedProcess,
  info: {
    port: number;
    storageDir: string;
    configPath: string;
    auth: RunningRegistry["auth"];
    users: Record<string, string>;
    workDir: string;
  },
): RunningRegistry {
  let stopping: Promise<void> | undefined;
  return {
    host: `127.0.0.1:${info.port}`,
    url: `http://127.0.0.1:${info.port}`,
    port: info.port,
    storageDir: info.storageDir,
    configPath: info.configPath,
    auth: info.auth,
    users: info.users,
    stderr: () => proc.stderrTail(),
    stop() {
      stopping ??= (async () => {
        await proc.kill();
        // storageDir lives inside workDir when we created it.
        await rm(info.workDir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}
