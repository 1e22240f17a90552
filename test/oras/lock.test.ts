import { spawnSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { setImmediate as yieldTurn } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { IoError } from "../../src/oras/errors.js";
import { FileLock } from "../../src/oras/lock.js";

let dir: string;
let lockPath: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "layout-lock-"));
  lockPath = join(dir, "index.json.lock");
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function lockContent(pid: number, host = hostname()): string {
  return JSON.stringify({ host, pid, token: "someone-else", acquiredAt: new Date().toISOString() });
}

/** The pid of a process that has already exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(child.stdout);
}

describe("FileLock", () => {
  it("names its holder in the lock file and removes it on release", async () => {
    const lock = await FileLock.acquire(lockPath);
    const owner = JSON.parse(await readFile(lockPath, "utf8"));
    expect(owner).toMatchObject({ pid: process.pid, host: hostname() });
    await lock.release();
    expect(await readdir(dir)).toEqual([]);
  });

  it("lets one holder in at a time", async () => {
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        const lock = await FileLock.acquire(lockPath);
        inside++;
        most = Math.max(most, inside);
        await yieldTurn();
        await yieldTurn();
        inside--;
        await lock.release();
      }),
    );
    expect(most).toBe(1);
    expect(await readdir(dir)).toEqual([]);
  });

  it("breaks a lock whose holder on this host has exited", async () => {
    await writeFile(lockPath, lockContent(deadPid()));
    const lock = await FileLock.acquire(lockPath, { timeoutMs: 60_000, staleMs: 3_600_000 });
    expect(JSON.parse(await readFile(lockPath, "utf8")).pid).toBe(process.pid);
    await lock.release();
  });

  it("breaks a lock older than staleMs even if its pid is alive", async () => {
    await writeFile(lockPath, lockContent(process.pid, "another-host"));
    const old = new Date(Date.now() - 120_000);
    await utimes(lockPath, old, old);
    const lock = await FileLock.acquire(lockPath, { staleMs: 60_000 });
    await lock.release();
    expect(await readdir(dir)).toEqual([]);
  });

  it("gives up with IoError naming the lock and its holder when a live holder keeps it", async () => {
    await writeFile(lockPath, lockContent(process.pid));
    const err = await FileLock.acquire(lockPath, { timeoutMs: 50, staleMs: 3_600_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IoError);
    expect((err as IoError).message).toContain(lockPath);
    expect((err as IoError).message).toContain(`process ${process.pid}`);
    expect((err as IoError).hint).toContain(`delete ${lockPath}`);
    // the live lock was not touched
    expect(JSON.parse(await readFile(lockPath, "utf8")).token).toBe("someone-else");
  });

  it("does not remove a lock that was taken over after it was judged stale", async () => {
    const lock = await FileLock.acquire(lockPath);
    await writeFile(lockPath, lockContent(process.pid));
    await lock.release();
    expect(JSON.parse(await readFile(lockPath, "utf8")).token).toBe("someone-else");
  });

  it("stops waiting when its signal aborts", async () => {
    await writeFile(lockPath, lockContent(process.pid));
    const controller = new AbortController();
    const waiting = FileLock.acquire(lockPath, { signal: controller.signal, staleMs: 3_600_000 });
    controller.abort();
    await expect(waiting).rejects.toThrow();
  });
});
