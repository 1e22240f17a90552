/** The progress display the transfer commands talk to; see ./index.ts for how to get one. */

/** One thing to transfer: a blob or a manifest, by digest. */
export interface ProgressItem {
  /** Unique within a display (a digest); an item planned twice is counted once. */
  id: string;
  /** What the row says; it may come from a registry, so it is escaped before it is shown. */
  label: string;
  bytes: number;
  /** Nothing to move (the destination has it): counted, but not in the bytes to go. */
  skipped?: boolean;
}

export interface TransferProgress {
  /** Items about to be transferred; called again (by a command copying several graphs), the totals grow. */
  plan(items: readonly ProgressItem[]): void;
  /** The item's transfer has begun (a manifest, which reports no bytes, shows as active from here). */
  start(id: string): void;
  /** Bytes of the item moved so far, cumulative; a smaller number means it began again. */
  bytes(id: string, transferred: number): void;
  /** The item is complete; "mount": the registry linked it, so its bytes did not move through us. */
  done(id: string, how?: "transfer" | "mount"): void;
  /** Erase the live area; the command then prints its final line as without progress. */
  finish(): Promise<void>;
}
