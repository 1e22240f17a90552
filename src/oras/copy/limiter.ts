/**
 * The two concurrency tools the copy engine needs, small enough to own rather
 * than depend on: a counting semaphore whose waits can be aborted, and a task
 * group that aborts every task on the first failure and reports that failure
 * (not the aborts it caused) once all tasks have settled.
 */
import { UsageError } from "../errors.js";

export type Release = () => void;

interface Waiter {
  grant(): void;
}

export class Semaphore {
  private active = 0;
  private readonly waiting: Waiter[] = [];

  constructor(readonly limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new UsageError(`invalid concurrency ${String(limit)}: expected a whole number of at least 1`);
    }
  }

  /** Resolves with a release function once a slot is free; rejects with the signal's reason if aborted first. */
  async acquire(signal?: AbortSignal): Promise<Release> {
    signal?.throwIfAborted();
    if (this.active < this.limit) {
      this.active++;
      return this.releaser();
    }
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const at = this.waiting.indexOf(waiter);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        grant: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      this.waiting.push(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
    return this.releaser();
  }

  private releaser(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // Hand the slot straight to the next waiter so `active` never drops below the real count.
      const next = this.waiting.shift();
      if (next) next.grant();
      else this.active--;
    };
  }
}

/**
 * Runs tasks that are aborted together. The first task to fail aborts the
 * group (so the others stop early) and is the error wait() throws; errors the
 * abort causes in other tasks are ignored. Tasks may spawn further tasks.
 *
 * Each task gets a signal of its own, which the group aborts directly: were
 * they all given the group's signal, every waiting slot and every request of
 * every task would listen on that one signal (36 listeners queued behind 4
 * slots in a 40-layer copy: Node's MaxListenersExceededWarning, rightly).
 */
export class TaskGroup {
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  private readonly tasks = new Set<Promise<unknown>>();
  private readonly running = new Set<AbortController>();
  private failure: { error: unknown } | undefined;
  private readonly onParentAbort: () => void;

  constructor(private readonly parent?: AbortSignal) {
    this.signal = this.controller.signal;
    this.onParentAbort = () => this.abort(parent?.reason);
    if (parent?.aborted) this.onParentAbort();
    else parent?.addEventListener("abort", this.onParentAbort, { once: true });
  }

  /** Start fn now; the returned promise settles with it (and is safe to leave unobserved). */
  spawn<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const own = new AbortController();
    const task = (async () => {
      this.signal.throwIfAborted();
      this.running.add(own);
      try {
        return await fn(own.signal);
      } finally {
        this.running.delete(own);
      }
    })();
    this.tasks.add(task);
    task.then(
      () => this.tasks.delete(task),
      (err: unknown) => {
        this.tasks.delete(task);
        this.fail(err);
      },
    );
    return task;
  }

  /** Waits until every task (including ones spawned meanwhile) has settled, then throws the first failure. */
  async wait(): Promise<void> {
    try {
      while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
    } finally {
      this.parent?.removeEventListener("abort", this.onParentAbort);
    }
    if (this.failure) throw this.failure.error;
    this.parent?.throwIfAborted();
  }

  private fail(err: unknown): void {
    if (this.failure) return;
    // When the caller aborted, its reason is the truth; the task's error is only a symptom.
    this.failure = { error: this.parent?.aborted ? this.parent.reason : err };
    this.abort(this.failure.error);
  }

  private abort(reason: unknown): void {
    this.controller.abort(reason);
    for (const own of this.running) own.abort(reason);
  }
}
