/**
 * The README's quick start, run line by line as printed, against a real
 * registry (with Basic auth, as ghcr.io has): only the registry host is
 * replaced by the loopback one, and the digest placeholder by the digest the
 * push printed. If the README drifts from what kit does, this fails.
 */
import { chmod, mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { spawn } from "node:child_process";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KIT_BIN } from "../support/cli.js";
import { basicAuthHeader, startRegistry, type RunningRegistry } from "../support/registry.js";
import { buildImage } from "../support/images.js";

const README = path.resolve(import.meta.dirname, "../../README.md");
const USER = "me";
const PASSWORD = "quickstart-token";

let registry: RunningRegistry;
let work: string;

/** The commands of the README's "Quick start" block, comments dropped. */
async function quickStartLines(): Promise<string[]> {
  const text = await readFile(README, "utf8");
  const section = text.split("\n## Quick start\n")[1];
  const block = section ? /```sh\n([\s\S]*?)```/.exec(section)?.[1] : undefined;
  if (block === undefined) throw new Error("README.md has no ```sh block under ## Quick start");
  return block
    .split("\n")
    .map((line) => line.replace(/\s+#.*$/, "").trim())
    .filter((line) => line !== "");
}

function sh(command: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-c", command], { cwd: work, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), "kit-quickstart-"));
  registry = await startRegistry({ auth: "htpasswd", users: { [USER]: PASSWORD } });
  await buildImage(
    { url: registry.url, repo: "org/agent-base", authorization: basicAuthHeader(USER, PASSWORD) },
    { tag: "1.0.0", seed: "quickstart-base" },
  );
});

afterAll(async () => {
  await registry?.stop();
});

describe("README quick start", () => {
  it("runs as printed, every line exiting 0", async () => {
    const bin = path.join(work, "bin");
    await mkdir(bin);
    await writeFile(path.join(bin, "kit"), `#!/bin/sh\nexec "${process.execPath}" "${KIT_BIN}" "$@"\n`);
    await chmod(path.join(bin, "kit"), 0o755);
    await writeFile(path.join(work, "token.txt"), PASSWORD);
    const env = {
      ...process.env,
      PATH: `${bin}:${process.env.PATH ?? ""}`,
      HOME: work,
      DOCKER_CONFIG: path.join(work, ".docker"),
      KIT_STORE: path.join(work, "store"),
      KIT_DEBUG: "",
    };

    const lines = await quickStartLines();
    expect(lines.length).toBeGreaterThanOrEqual(6);
    let pushedDigest: string | undefined;
    for (const printed of lines) {
      let command = printed.replaceAll("ghcr.io", registry.host);
      if (command.includes("@sha256:…")) {
        expect(pushedDigest, `${printed} needs the digest a push printed`).toBeDefined();
        command = command.replace("@sha256:…", `@${pushedDigest}`);
      }
      const result = await sh(command, env);
      expect({ line: printed, code: result.code, stderr: result.stderr }).toEqual({ line: printed, code: 0, stderr: expect.any(String) });
      expect(result.stderr, printed).not.toMatch(/kit: error:/);
      pushedDigest ??= /@(sha256:[0-9a-f]{64})/.exec(result.stdout)?.[1];
    }

    // What the quick start promises: the checkout holds the kit, pinned; the store answers offline.
    const checkedOut = await readFile(path.join(work, "checkout/kit.yaml"), "utf8");
    expect(checkedOut).toMatch(/name: my-kit/);
    const stored = await sh(`kit pull my-kit@${pushedDigest} --json`, env);
    expect(JSON.parse(stored.stdout)).toMatchObject({ digest: pushedDigest, kit: { name: "my-kit" } });
  });
});
