/**
 * index.json of one layout, shared with other processes: the in-memory
 * IndexModel and the group commit that makes changes to it durable.
 *
 * Every change is applied in memory at once (O(1) lookups through IndexModel)
 * and queued; one writer takes the lock file, re-reads index.json if another
 * process changed it, replays the queued changes onto it and replaces the file
 * atomically. change() returns once its change is durable, and all calls made
 * meanwhile share one write. Inside batch(), they return at once and batch()
 * writes once at the end.
 */
import { statBigInt } from "../fs-calls.js";
import { createFileExclusive, errnoCode, ioError, readFileBounded, writeFileAtomic } from "../fs.js";
import { MAX_INDEX_BYTES } from "../limits.js";
import { IndexModel, type IndexChange } from "./index-file.js";
import { FileLock, type LockOptions } from "../lock.js";

export interface IndexCommitHooks {
  /** Runs before every write of index.json (and every flush): what the new file names must be durable first. */
  beforeWrite: () => Promise<void>;
  /** The model was replaced by one read from disk: anything derived from the old one is stale. */
  onReload: () => void;
}

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class IndexCommitter {
  private current = IndexModel.empty();
  /** Identity of index.json as this process last read or wrote it; undefined forces a re-read. */
  private syncedStamp: string | undefined;
  /** The in-memory model differs from the file as of syncedStamp. */
  private dirty = false;
  /** Changes applied in memory and not yet known to be in the file. */
  private pending: IndexChange[] = [];
  private waiters: Waiter[] = [];
  private committing: Promise<void> | undefined;
  private refreshing: Promise<void> | undefined;
  private batchDepth = 0;

  constructor(
    /** Absolute path of index.json. */
    readonly path: string,
    private readonly lockOptions: LockOptions,
    private readonly hooks: IndexCommitHooks,
  ) {}

  /** The index as this process sees it: the file as last read plus every change made here. */
  get model(): IndexModel {
    return this.current;
  }

  /** Create an empty index.json unless there is one. */
  async createIfMissing(): Promise<void> {
    if ((await this.stampOf()) !== "missing") return;
    // link() never replaces: a concurrent creator's (or writer's) index.json wins.
    await createFileExclusive(this.path, IndexModel.empty().serialize()).catch((e: unknown) => {
      throw ioError(e, "create", this.path);
    });
  }

  /**
   * Run `fn` with index writes deferred: changes inside it return as soon as
   * they are in memory, and batch() writes index.json once at the end (also
   * when fn throws, since what it changed is complete).
   * Deferral applies to this instance while any batch is open.
   */
  async batch<T>(fn: () => Promise<T>): Promise<T> {
    this.batchDepth++;
    let result: T;
    try {
      result = await fn();
    } finally {
      this.batchDepth--;
      if (this.batchDepth === 0) await this.flush();
    }
    return result;
  }

  /** Make every change made so far durable (what beforeWrite syncs, then index.json). */
  flush(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.startCommits();
    });
  }

  /** Apply changes in memory and queue them for the next write. */
  queue(changes: readonly IndexChange[]): void {
    for (const change of changes) {
      if (this.current.apply(change)) this.dirty = true;
      // Queued even when it changed nothing here: another process may have changed the file meanwhile.
      this.pending.push(change);
    }
  }

  /** queue(), then wait until the changes are durable unless a batch is open. */
  async change(changes: readonly IndexChange[]): Promise<void> {
    this.queue(changes);
    if (this.batchDepth === 0) await this.flush();
  }

  /** Re-read index.json if another process replaced it; cheap (one stat) when nothing changed. */
  refresh(): Promise<void> {
    if (this.committing) return Promise.resolve();
    this.refreshing ??= (async () => {
      try {
        const stamp = await this.stampOf();
        if (stamp === this.syncedStamp) return;
        const fresh = await this.readIndex();
        for (const change of this.pending) fresh.apply(change);
        this.replaceModel(fresh, stamp);
        this.dirty = this.pending.length > 0;
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  private startCommits(): void {
    if (this.committing) return;
    this.committing = (async () => {
      // Let callers in the same turn of the event loop join this write.
      await new Promise((r) => setImmediate(r));
      while (this.waiters.length > 0) {
        const waiters = this.waiters.splice(0);
        try {
          await this.commit();
          for (const w of waiters) w.resolve();
        } catch (err) {
          for (const w of waiters) w.reject(err);
        }
      }
      this.committing = undefined;
    })();
  }

  private async commit(): Promise<void> {
    if (this.refreshing) await this.refreshing;
    const changes = this.pending.splice(0);
    try {
      // An index entry must never outlive, in a crash, the rename of a blob it names.
      await this.hooks.beforeWrite();
      if (changes.length === 0) return;
      if (!this.dirty && (await this.stampOf()) === this.syncedStamp) return;
      const lock = await FileLock.acquire(`${this.path}.lock`, this.lockOptions);
      try {
        let mustWrite = this.dirty;
        const stamp = await this.stampOf();
        if (stamp !== this.syncedStamp) {
          // Another process wrote since we last looked: our changes become a delta on its file.
          const fresh = await this.readIndex();
          mustWrite = false;
          for (const change of changes) mustWrite = fresh.apply(change) || mustWrite;
          for (const change of this.pending) mustWrite = fresh.apply(change) || mustWrite;
          this.replaceModel(fresh, stamp);
        }
        if (mustWrite) {
          const text = this.current.serialize();
          this.dirty = false;
          await writeFileAtomic(this.path, text);
          this.syncedStamp = await this.stampOf();
        }
      } finally {
        await lock.release();
      }
    } catch (err) {
      // What is in memory may now differ from the file: re-read before the next use.
      this.syncedStamp = undefined;
      throw ioError(err, "update", this.path);
    }
  }

  private replaceModel(model: IndexModel, stamp: string): void {
    this.current = model;
    this.syncedStamp = stamp;
    this.hooks.onReload();
  }

  /** Identifies one version of index.json: every writer renames a new file into place. */
  private async stampOf(): Promise<string> {
    try {
      const st = await statBigInt(this.path);
      return `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
    } catch (err) {
      if (errnoCode(err) === "ENOENT") return "missing";
      throw ioError(err, "read", this.path);
    }
  }

  private async readIndex(): Promise<IndexModel> {
    let text: string;
    try {
      text = (await readFileBounded(this.path, MAX_INDEX_BYTES)).toString("utf8");
    } catch (err) {
      // A layout without index.json yet (some writers add it last) has no entries.
      if (errnoCode(err) === "ENOENT") return IndexModel.empty();
      throw ioError(err, "read", this.path);
    }
    return IndexModel.parse(text, this.path);
  }
}
