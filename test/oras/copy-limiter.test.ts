import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { Semaphore, TaskGroup } from "../../src/oras/copy/limiter.js";
import { NetworkError, UsageError } from "../../src/oras/errors.js";

describe("Semaphore", () => {
  it("grants at most `limit` slots and hands a released slot to the next waiter", async () => {
    const sem = new Semaphore(2);
    const a = await sem.acquire();
    await sem.acquire();
    let thirdGranted = false;
    const third = sem.acquire().then((release) => {
      thirdGranted = true;
      return release;
    });
    await Promise.resolve();
    expect(thirdGranted).toBe(false);
    a();
    a(); // releasing twice must not free a second slot
    (await third)();
    let fourthGranted = false;
    void sem.acquire().then(() => (fourthGranted = true));
    let fifthGranted = false;
    void sem.acquire().then(() => (fifthGranted = true));
    await new Promise((r) => setImmediate(r));
    expect(fourthGranted).toBe(true);
    expect(fifthGranted).toBe(false);
  });

  it("rejects a waiting acquire when its signal aborts, and leaves the queue clean", async () => {
    const sem = new Semaphore(1);
    const release = await sem.acquire();
    const controller = new AbortController();
    const waiting = sem.acquire(controller.signal);
    controller.abort(new UsageError("stop"));
    await expect(waiting).rejects.toBeInstanceOf(UsageError);
    release();
    // The aborted waiter must not have swallowed the slot.
    const next = await sem.acquire();
    expect(typeof next).toBe("function");
  });

  it("refuses a limit below 1", () => {
    expect(() => new Semaphore(0)).toThrow(UsageError);
  });
});

describe("TaskGroup", () => {
  it("throws the first failure, not the aborts it caused, after every task settled", async () => {
    const group = new TaskGroup();
    let sawAbort = false;
    let settled = 0;
    group.spawn(
      (signal) =>
        new Promise<void>((_, reject) =>
          signal.addEventListener("abort", () => {
            sawAbort = true;
            settled++;
            reject(new Error("aborted"));
          }),
        ),
    );
    group.spawn(async () => {
      settled++;
      throw new NetworkError("connection reset");
    });
    await expect(group.wait()).rejects.toBeInstanceOf(NetworkError);
    expect(sawAbort).toBe(true);
    expect(settled).toBe(2);
  });

  it("waits for tasks spawned by tasks", async () => {
    const group = new TaskGroup();
    const order: string[] = [];
    group.spawn(async () => {
      group.spawn(async () => {
        await new Promise((r) => setImmediate(r));
        order.push("child");
      });
      order.push("parent");
    });
    await group.wait();
    expect(order).toEqual(["parent", "child"]);
  });

  it("gives each task a signal of its own, so 40 tasks queued behind 4 slots add no listeners to one signal", async () => {
    const group = new TaskGroup();
    const slots = new Semaphore(4);
    const signals: AbortSignal[] = [];
    let gate!: () => void;
    const open = new Promise<void>((r) => (gate = r));
    for (let i = 0; i < 40; i++) {
      group.spawn(async (signal) => {
        signals.push(signal);
        const release = await slots.acquire(signal);
        await open;
        release();
      });
    }
    await new Promise((r) => setImmediate(r));
    expect(new Set(signals).size).toBe(40);
    expect(Math.max(...signals.map((s) => getEventListeners(s, "abort").length))).toBeLessThanOrEqual(1);
    expect(getEventListeners(group.signal, "abort")).toHaveLength(0);
    gate();
    await group.wait();
  });

  it("aborts every running task's signal on the first failure", async () => {
    const group = new TaskGroup();
    const seen: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      group.spawn((signal) => new Promise<void>((_, reject) => signal.addEventListener("abort", () => (seen.push(signal.reason), reject(new Error("symptom"))))));
    }
    const cause = new NetworkError("reset");
    group.spawn(async () => {
      throw cause;
    });
    await expect(group.wait()).rejects.toBe(cause);
    expect(seen).toEqual([cause, cause, cause]);
  });

  it("reports the caller's abort reason", async () => {
    const controller = new AbortController();
    const group = new TaskGroup(controller.signal);
    group.spawn((signal) => new Promise<void>((_, reject) => signal.addEventListener("abort", () => reject(new Error("symptom")))));
    const reason = new UsageError("cancelled");
    controller.abort(reason);
    await expect(group.wait()).rejects.toBe(reason);
  });
});
