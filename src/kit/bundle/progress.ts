/**
 * What kit save and kit load tell a progress display, blob by blob, in the
 * shape of copy's CopyProgressEvent: the library only emits these; the CLI
 * decides what to show.
 */
import { Transform, type Readable } from "node:stream";
import type { Descriptor } from "../../oras/content.js";

/** save: writing the bundle; verify: load's first read (nothing written); load: its second read, writing. */
export type BundlePhase = "save" | "verify" | "load";

export type BundleProgressEvent =
  /** A phase begins: how many blobs (manifests included) and bytes it will go through, when known (verify reads to find out). */
  | { type: "phase"; phase: BundlePhase; blobs?: number; bytes?: number; items?: readonly Descriptor[] }
  | { type: "start"; phase: BundlePhase; descriptor: Descriptor }
  /** Cumulative bytes of this blob so far. */
  | { type: "bytes"; phase: BundlePhase; descriptor: Descriptor; transferred: number }
  /** `via` (load to a registry): the blob was uploaded, or mounted from another repository it was uploaded to. */
  | { type: "done"; phase: BundlePhase; descriptor: Descriptor; via?: "upload" | "mount" }
  /** The destination already holds it. */
  | { type: "skip"; phase: BundlePhase; descriptor: Descriptor; reason: "exists" };

export type BundleProgress = (event: BundleProgressEvent) => void;

/** A pass-through counting what `descriptor` has moved, for "bytes" events; nothing when no one listens. */
export function countingBytes(onProgress: BundleProgress | undefined, phase: BundlePhase, descriptor: Descriptor): ((chunk: { length: number }) => void) | undefined {
  if (onProgress === undefined) return undefined;
  let transferred = 0;
  return (chunk) => {
    transferred += chunk.length;
    onProgress({ type: "bytes", phase, descriptor, transferred });
  };
}

/** `body`, telling "bytes" events as it passes when someone listens (else `body` itself). */
export function withProgress(body: Readable, onProgress: BundleProgress | undefined, phase: BundlePhase, descriptor: Descriptor): Readable {
  const tap = countingBytes(onProgress, phase, descriptor);
  if (tap === undefined) return body;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      tap(chunk);
      callback(null, chunk);
    },
  });
  body.once("error", (err) => counter.destroy(err));
  return body.pipe(counter);
}
