/**
 * Output reaches its reader whole, and a write that fails is a failure: aegisd
 * reads `kit pull --json` and scripts hash `kit manifest` through pipes.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { openSync, closeSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { KIT_BIN } from "../support/cli.js";
import { layoutWithManifest } from "../support/content.js";

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}
/** Run kit with stdout on a pipe whose reader starts late, as a busy consumer does. */
function runThroughSlowPipe(args: string[], delayMs: number): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [KIT_BIN, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, KIT_DEBUG: "" } });
    const chunks: Buffer[] = [];
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.stdout.pause();
    // An explicitly paused stream stays paused when a listener is added: resume it too.
    setTimeout(() => child.stdout.on("data", (d: Buffer) => chunks.push(d)).resume(), delayMs);
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(chunks), stderr }));
  });
}

/** Run kit with stdout on a file descriptor (e.g. /dev/full). */
function runToFd(args: string[], file: string): Promise<{ code: number; stderr: string }> {
  const fd = openSync(file, "w");
  return new Promise<{ code: number; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [KIT_BIN, ...args], { stdio: ["ignore", fd, "pipe"], env: { ...process.env, KIT_DEBUG: "" } });
    let stderr = "";
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stderr }));
  }).finally(() => closeSync(fd));
}

describe("output through a pipe", () => {
  it("delivers every byte of a 3 MiB manifest to a reader that starts late, exit 0", async () => {
    const { dir, digest, bytes } = await layoutWithManifest(3 * 1024 * 1024);
    const result = await runThroughSlowPipe(["manifest", `oci:${dir}@${digest}`], 300);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout.length).toBe(bytes.length);
    expect(sha256(result.stdout)).toBe(digest);
  });

  it("delivers a 2 MiB kit tags --json document whole to a reader that starts late", async () => {
    const { dir, digest } = await layoutWithManifest(1024);
    // 20,000 tags of 100 bytes each: about 2 MiB of `kit tags --json`.
    const manifests = Array.from({ length: 20_000 }, (_, i) => ({
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest,
      size: 0,
      annotations: { "org.opencontainers.image.ref.name": `t${String(i).padStart(6, "0")}-${"a".repeat(90)}` },
    }));
    const { stat } = await import("node:fs/promises");
    const size = (await stat(path.join(dir, "blobs/sha256", digest.slice(7)))).size;
    for (const m of manifests) m.size = size;
    await writeFile(path.join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, manifests }));
    const result = await runThroughSlowPipe(["tags", `oci:${dir}`, "--json"], 300);
    expect(result.code).toBe(0);
    expect(result.stdout.length).toBeGreaterThan(2 * 1024 * 1024);
    expect(JSON.parse(result.stdout.toString("utf8")).tags).toHaveLength(20_000);
  });
});

describe("a failed write to stdout", () => {
  it.each([
    ["schema", ["schema"]],
    ["help", ["--help"]],
  ])("exits 1 with a message for kit %s > /dev/full", async (_name, args) => {
    const result = await runToFd(args, "/dev/full");
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^kit: error: cannot write to standard output: ENOSPC/m);
  });

  it("exits 1 for kit manifest > /dev/full and kit tags --json > /dev/full", async () => {
    const { dir, digest } = await layoutWithManifest(200 * 1024);
    for (const args of [["manifest", `oci:${dir}@${digest}`], ["tags", `oci:${dir}`, "--json"]]) {
      const result = await runToFd(args, "/dev/full");
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("cannot write to standard output");
    }
  });
});
