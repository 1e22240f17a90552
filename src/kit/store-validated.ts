/**
 * What the local store knows of the kits it has validated: name, version and
 * pinned image per manifest digest, in `kit-validated/<alg>/<hex>`, written
 * only after every rule of the kit was checked (by add(), after a pull or
 * push, or by the first listing that meets an entry another tool wrote).
 *
 * Listing and short names trust these records and never annotations: an
 * index.json entry or manifest that `kit copy`, skopeo or oras wrote carries
 * whatever its source claimed (a title naming another kit). Another tool
 * copying into the layout writes blobs/ and index.json only, never here; a
 * record stays true for as long as its digest names the same bytes, so a
 * stale one is harmless, and gc prunes those whose manifest is gone.
 */
import { fsCalls, InvalidContentError, IoError, isJsonObject, isTempPath, OciError, parseDigest, readFileBounded, writeFileAtomic } from "../oras/content.js";
import { STALE_TEMP_MS } from "../oras/layout/index.js";
import type { KitConfig } from "./artifact.js";
import { isCanonicalJsonOf } from "./canonical-json.js";

const { lstat, mkdir, opendir, rm } = fsCalls;

export const VALIDATED_DIR = "kit-validated";
const MAX_RECORD_BYTES = 64 * 1024;
/** A kit whose config is larger is recorded without it (the record stays small; reading it is checked in full). */
const MAX_RECORDED_CONFIG_BYTES = 32 * 1024;

/**
 * The version of the rules a record's `kit` was checked under. Bump it when
 * any rule of verify-artifact.ts, load.ts or schema.ts changes: a record made
 * under other rules then no longer stands in for the checks (read-kit.ts),
 * and the next read checks the kit in full and records it again.
 */
export const KIT_CHECKS = 1;

export interface ValidatedKit {
  name: string;
  version: string;
  /** The pinned image; absent when the kit is unpinned. */
  image?: string;
}

/** A record: what listing needs, and the validated kit itself when it can stand in for the checks. */
export interface ValidationRecord extends ValidatedKit {
  /**
   * The kit config as validated, present only when recorded under the
   * current rules (KIT_CHECKS). A read trusts it in place of the schema and
   * kit.yaml checks only when its canonical JSON is the config blob read.
   */
  kit?: KitConfig;
}

export function validatedKitOf(kit: KitConfig): ValidatedKit {
  return kit.unpinned ? { name: kit.name, version: kit.version } : { name: kit.name, version: kit.version, image: kit.image };
}

export class ValidatedKits {
  private readonly dir: string;

  /** `storeRoot` is the store's layout directory. */
  constructor(storeRoot: string) {
    this.dir = `${storeRoot}/${VALIDATED_DIR}`;
  }

  /** The record for a manifest digest; undefined when there is none, or it is unreadable or malformed. */
  async get(digest: string): Promise<ValidatedKit | undefined> {
    const record = await this.getRecord(digest);
    if (record === undefined) return undefined;
    const { kit: _kit, ...validated } = record;
    return validated;
  }

  /** The whole record for a manifest digest; undefined when there is none, or it is unreadable or malformed. */
  async getRecord(digest: string): Promise<ValidationRecord | undefined> {
    let value: unknown;
    try {
      value = JSON.parse((await readFileBounded(this.pathOf(digest).file, MAX_RECORD_BYTES)).toString("utf8"));
    } catch {
      return undefined;
    }
    if (!isJsonObject(value) || value.digest !== digest) return undefined;
    const { name, version, image } = value;
    if (typeof name !== "string" || typeof version !== "string" || (image !== undefined && typeof image !== "string")) return undefined;
    const validated: ValidatedKit = image === undefined ? { name, version } : { name, version, image };
    const kit = value.checks === KIT_CHECKS && isJsonObject(value.kit) ? (value.kit as unknown as KitConfig) : undefined;
    // The kit must say what the record says, or the record is not used in its place.
    if (kit === undefined || kit.name !== name || kit.version !== version || (kit.unpinned ? image !== undefined : kit.image !== image)) return validated;
    return { ...validated, kit };
  }

  /**
   * Record a kit the caller has validated completely. With `full`, the
   * validated kit and the config blob it was validated from: the kit is kept
   * in the record when the config blob is its canonical JSON (as kit writes
   * every config), so reads can trust it instead of checking it again.
   */
  async record(digest: string, kit: ValidatedKit, full?: { kit: KitConfig; config: Uint8Array }): Promise<void> {
    const { dir, file } = this.pathOf(digest);
    const keep = full !== undefined && full.config.length <= MAX_RECORDED_CONFIG_BYTES && isCanonicalJsonOf(full.kit, full.config);
    await mkdir(dir, { recursive: true });
    // Not fsynced: a record a crash loses or truncates reads as none (getRecord), and the kit is then checked in full.
    await writeFileAtomic(file, `${JSON.stringify({ digest, ...kit, ...(keep ? { checks: KIT_CHECKS, kit: full.kit } : {}) })}\n`, { durable: false });
  }

  /** Remove records whose manifest `isStored` denies, and stale temp files; for gc, under the store lock. */
  async prune(isStored: (digest: string) => boolean, now = Date.now()): Promise<void> {
    try {
      await this.pruneFiles(isStored, now);
    } catch (err) {
      if (err instanceof OciError) throw err;
      throw new IoError(`cannot prune ${this.dir}: ${(err as Error).message}`, { cause: err });
    }
  }

  private async pruneFiles(isStored: (digest: string) => boolean, now: number): Promise<void> {
    const st = await lstat(this.dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return undefined;
      throw err;
    });
    if (st === undefined) return;
    // Deleting through a link would delete outside the store.
    if (!st.isDirectory()) throw new InvalidContentError(`${this.dir} is not a directory (a symbolic link?); the local store keeps its validation records there`);
    for await (const algorithm of await opendir(this.dir)) {
      if (!algorithm.isDirectory()) continue;
      const dir = `${this.dir}/${algorithm.name}`;
      for await (const entry of await opendir(dir)) {
        const file = `${dir}/${entry.name}`;
        if (isTempPath(entry.name)) {
          // A record write that died, judged by age as gc judges ingest files.
          const st = await lstat(file).catch(() => undefined);
          if (st === undefined || now - st.mtimeMs < STALE_TEMP_MS) continue;
        } else if (isStored(`${algorithm.name}:${entry.name}`)) {
          continue;
        }
        await rm(file, { force: true });
      }
    }
  }

  private pathOf(digest: string): { dir: string; file: string } {
    const { algorithm, hex } = parseDigest(digest);
    const dir = `${this.dir}/${algorithm}`;
    return { dir, file: `${dir}/${hex}` };
  }
}
