/**
 * How kit login gets a password, against the real registry (htpasswd): asked on a terminal without
 * echo (a pseudo-terminal from util-linux `script`), `-p` with docker's warning, `--password-stdin`,
 * and a usage error when there is no way to ask. The password never reaches output, the argv of a
 * process kit starts (a credential helper), or any file but the Docker config. The hint after a 401
 * is run exactly as printed.
 */
import { spawn } from "node:child_process";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loginHint } from "../../src/oras/remote/response-errors.js";
import { KIT_BIN, runKit } from "../support/cli.js";
import { buildImage } from "../support/images.js";
import { basicAuthHeader, startRegistry, type RunningRegistry } from "../support/registry.js";

const USER = "bob";
const PASSWORD = "tty-Pa55word-x9";
const BASIC = Buffer.from(`${USER}:${PASSWORD}`).toString("base64");

let registry: RunningRegistry;
let work: string;
let digest: string;
/** A directory with `kit` on it, so commands can be run as printed. */
let binDir: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), "kit-login-"));
  registry = await startRegistry({ auth: "htpasswd", users: { [USER]: PASSWORD } });
  digest = (await buildImage({ url: registry.url, repo: "team/app", authorization: basicAuthHeader(USER, PASSWORD) }, { tag: "v1", seed: "login" })).digest;
  binDir = path.join(work, "bin");
  await mkdir(binDir);
  await writeFile(path.join(binDir, "kit"), `#!/bin/sh\nexec '${process.execPath}' '${KIT_BIN}' "$@"\n`);
  await chmod(path.join(binDir, "kit"), 0o755);
});

afterAll(async () => {
  await registry?.stop();
  await rm(work, { recursive: true, force: true });
});

/** A fresh HOME with its own Docker config directory (not created) and store, for one test. */
async function home(): Promise<{ dir: string; env: NodeJS.ProcessEnv; config: string }> {
  const dir = await mkdtemp(path.join(work, "home-"));
  const dockerConfig = path.join(dir, ".docker");
  return {
    dir,
    config: path.join(dockerConfig, "config.json"),
    env: { HOME: dir, DOCKER_CONFIG: dockerConfig, KIT_STORE: path.join(dir, "store"), PATH: `${binDir}:${process.env.PATH}` },
  };
}

interface TerminalRun {
  code: number;
  /** Everything the terminal showed: prompts, echoed input, output. */
  transcript: string;
}

/**
 * Runs a shell command on a pseudo-terminal and types each answer once its prompt has appeared (so the
 * program has set up the terminal by then: anything typed earlier would be echoed by the terminal itself).
 */
function onTerminal(command: string, env: NodeJS.ProcessEnv, answers: [prompt: string, typed: string][], cwd = work): Promise<TerminalRun> {
  return new Promise((resolve, reject) => {
    const child = spawn("script", ["-qec", command, "/dev/null"], { cwd, env: { ...process.env, KIT_DEBUG: "", ...env }, stdio: ["pipe", "pipe", "pipe"] });
    let transcript = "";
    let from = 0;
    let next = 0;
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.stdout.setEncoding("utf8").on("data", (data: string) => {
      transcript += data;
      while (next < answers.length) {
        const [prompt, typed] = answers[next]!;
        const at = transcript.indexOf(prompt, from);
        if (at === -1) break;
        from = at + prompt.length;
        next++;
        child.stdin.write(typed);
      }
    });
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, transcript });
    });
  });
}

const kitCommand = (args: string[]) => ["kit", ...args].join(" ");

describe("kit login on a terminal", () => {
  it("asks for the user name and the password, shows the password nowhere, and saves the login", async () => {
    const h = await home();
    const run = await onTerminal(kitCommand(["login", registry.host]), h.env, [
      ["Username: ", `${USER}\r`],
      ["Password: ", `${PASSWORD}\r`],
    ]);
    expect(run.transcript.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "")).toContain(`Username: ${USER}`);
    expect(run.transcript).toContain(`Login succeeded for ${registry.host}`);
    expect(run.transcript).not.toContain(PASSWORD);
    expect(run.transcript).not.toContain(PASSWORD.slice(0, 4));
    expect(run.code).toBe(0);
    expect(JSON.parse(await readFile(h.config, "utf8")).auths[registry.host].auth).toBe(BASIC);
    // The password is in the Docker config and nowhere else under HOME (no store, no history, no log).
    for (const file of await filesUnder(h.dir)) {
      if (file === h.config) continue;
      const text = await readFile(file, "utf8");
      expect(text, file).not.toContain(PASSWORD);
      expect(text, file).not.toContain(BASIC);
    }
  });

  it("asks only for the password when -u is given, and saves nothing when it is wrong (exit 6)", async () => {
    const h = await home();
    const run = await onTerminal(kitCommand(["login", registry.host, "-u", USER]), h.env, [["Password: ", "not-the-password\r"]]);
    expect(run.transcript).not.toContain("Username:");
    expect(run.transcript).not.toContain("not-the-password");
    expect(run.transcript).toContain(`kit: error: invalid credentials for ${registry.host}`);
    expect(run.code).toBe(6);
    expect(existsSync(h.config)).toBe(false);
  });

  it("gives up with a usage error when the terminal ends the input before a password", async () => {
    const h = await home();
    const run = await onTerminal(kitCommand(["login", registry.host, "-u", USER]), h.env, [["Password: ", "\x04"]]);
    expect(run.transcript).toContain("kit: error: no password given");
    expect(run.code).toBe(2);
  });
});

describe("kit login without a terminal", () => {
  it("is a usage error saying how to pass the password, when stdin is not a terminal and no source is given", async () => {
    const h = await home();
    const result = await runKit(["login", registry.host, "-u", USER], { env: h.env });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(
      "kit: error: kit login needs a password: standard input is not a terminal to ask on\n" +
        `kit: hint: echo "$TOKEN" | kit login ${registry.host} -u ${USER} --password-stdin\n`,
    );
  });

  it("accepts -p/--password with docker's warning on stderr", async () => {
    const h = await home();
    const result = await runKit(["login", registry.host, "-u", USER, "-p", PASSWORD], { env: h.env });
    expect(result.stderr).toBe("kit: warning: using --password via the CLI is insecure (other users can see it in the process list); use --password-stdin\n");
    expect(result.stdout).toBe(`Login succeeded for ${registry.host} (credentials saved in ${h.config})\n`);
    expect(result.code).toBe(0);
    const long = await runKit(["login", registry.host, "--username", USER, "--password", PASSWORD], { env: h.env });
    expect(long.code).toBe(0);
    expect(long.stdout + long.stderr).not.toContain(PASSWORD);
  });

  it("refuses --password together with --password-stdin, and either without -u", async () => {
    const h = await home();
    const both = await runKit(["login", registry.host, "-u", USER, "-p", PASSWORD, "--password-stdin"], { env: h.env, input: PASSWORD });
    expect(both.code).toBe(2);
    expect(both.stderr).toBe("kit: error: --password and --password-stdin cannot be used together\n");
    const noUser = await runKit(["login", registry.host, "--password-stdin"], { env: h.env, input: PASSWORD });
    expect(noUser.code).toBe(2);
    expect(noUser.stderr.split("\n")[0]).toBe("kit: error: kit login --password-stdin needs --username (-u)");
    expect(existsSync(h.config)).toBe(false);
  });

  it("hands the password to a credential helper on its standard input, never in its arguments", async () => {
    const h = await home();
    const helperDir = await mkdtemp(path.join(work, "helper-"));
    const log = path.join(helperDir, "log");
    await writeFile(
      path.join(helperDir, "docker-credential-kitlogin"),
      `#!/bin/sh\nprintf 'argv: %s\\n' "$*" >> '${log}'\nif [ "$1" = store ]; then printf 'stdin: ' >> '${log}'; cat >> '${log}'; printf '\\n' >> '${log}'; fi\nexit 0\n`,
    );
    await chmod(path.join(helperDir, "docker-credential-kitlogin"), 0o755);
    await mkdir(path.dirname(h.config), { recursive: true });
    await writeFile(h.config, JSON.stringify({ credsStore: "kitlogin" }));
    const result = await runKit(["login", registry.host, "-u", USER, "--password-stdin"], {
      env: { ...h.env, PATH: `${helperDir}:${h.env.PATH}` },
      input: `${PASSWORD}\n`,
    });
    expect(result.stdout).toBe(`Login succeeded for ${registry.host} (credentials saved in credential helper docker-credential-kitlogin)\n`);
    const lines = (await readFile(log, "utf8")).split("\n");
    expect(lines.filter((l) => l.startsWith("argv: "))).toEqual(["argv: store"]);
    expect(lines.find((l) => l.startsWith("stdin: "))).toContain(`"Secret":"${PASSWORD}"`);
  });
});

describe("the hint after a 401", () => {
  it("is a command that works exactly as printed", async () => {
    const h = await home();
    const refused = await runKit(["resolve", `${registry.host}/team/app:v1`], { env: h.env });
    expect(refused.code).toBe(6);
    const hint = /^kit: hint: run `([^`]+)`/m.exec(refused.stderr)?.[1];
    expect(hint).toBe(`kit login ${registry.host}`);
    const run = await onTerminal(hint!, h.env, [
      ["Username: ", `${USER}\r`],
      ["Password: ", `${PASSWORD}\r`],
    ]);
    expect(run.code).toBe(0);
    expect((await runKit(["resolve", `${registry.host}/team/app:v1`], { env: h.env })).stdout).toBe(`${registry.host}/team/app@${digest}\n`);
  });

  it("quotes a registry the shell would otherwise glob", () => {
    expect(loginHint("[::1]:5000", "kit login")).toBe("run `kit login '[::1]:5000'` with credentials that can access it");
    expect(loginHint("ghcr.io", "kit login")).toBe("run `kit login ghcr.io` with credentials that can access it");
  });
});

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}
