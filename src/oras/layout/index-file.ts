/**
 * index.json of an OCI image layout, held in memory as an ordered map so that
 * lookups are O(1) and a rewrite costs one pass over cached per-entry JSON.
 *
 * Entries are keyed by ref name (`org.opencontainers.image.ref.name`) when
 * tagged and by digest when not, so there is one entry per ref name and at most
 * one untagged entry per digest. Writers change the index only through
 * IndexChange values, which can be replayed onto a copy re-read from disk under
 * the lock: that is how changes from several processes merge.
 */
import type { Descriptor } from "../descriptor.js";
import { MediaType } from "../descriptor.js";
import { isDigest } from "../digest.js";
import { InvalidContentError, InvalidReferenceError } from "../errors.js";
import { isJsonObject, jsonDepthExceeds, quoteJson } from "../json.js";
import { MAX_JSON_DEPTH, MAX_REF_NAME_LENGTH } from "../limits.js";
import { readDescriptor } from "../manifest.js";
import { isValidTag } from "../reference.js";

export const REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name";
const CORRUPT_HINT = "restore it from a backup or re-create the layout; blobs are kept under blobs/";
// image-spec annotations.md grammar for ref names.
const REF_NAME = /^[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*(?:\/[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*)*$/;

export type IndexChange =
  /** Point `name` at desc, replacing any entry of that name; the digest's untagged entry goes. */
  | { kind: "tag"; name: string; desc: Descriptor }
  | { kind: "untag"; name: string }
  /** Record a pushed manifest untagged, unless some entry already names its digest. */
  | { kind: "record"; desc: Descriptor }
  /** Drop untagged entries (children now reachable through a recorded parent); tags stay. */
  | { kind: "unrecord"; digests: readonly string[] }
  /** Drop every entry for the digest, tagged or not. */
  | { kind: "forget"; digest: string };

interface Entry {
  desc: Descriptor;
  /** Cached serialisation: a rewrite then only joins strings. */
  json?: string;
}

/** Throws InvalidReferenceError unless `name` can be a ref name in a layout (a tag, or the image-spec ref grammar). */
export function validateRefName(name: string): void {
  if (name.length === 0 || name.length > MAX_REF_NAME_LENGTH || (!isValidTag(name) && !REF_NAME.test(name))) {
    throw new InvalidReferenceError(
      `invalid tag "${name}" for an OCI layout: use 1-${MAX_REF_NAME_LENGTH} letters, digits and separators (. _ - : @ + /), starting with a letter or digit`,
    );
  }
  if (isDigest(name)) {
    throw new InvalidReferenceError(`invalid tag "${name}": a tag must not look like a digest`);
  }
}

export class IndexModel {
  private readonly entries = new Map<string, Entry>();
  private readonly keysByDigest = new Map<string, Set<string>>();

  /** Top-level fields other than schemaVersion and manifests, kept as found (annotations, mediaType, ...). */
  private constructor(private readonly extra: Record<string, unknown>) {}

  static empty(): IndexModel {
    return new IndexModel({ mediaType: MediaType.ImageIndex });
  }

  /** Parse and validate index.json text; `file` names it in errors. */
  static parse(text: string, file: string): IndexModel {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw corrupt(file, `not valid JSON (${(err as Error).message})`, err);
    }
    if (!isJsonObject(value)) throw corrupt(file, "expected a JSON object");
    if (jsonDepthExceeds(value, MAX_JSON_DEPTH)) throw corrupt(file, `nested deeper than ${MAX_JSON_DEPTH} levels`);
    const { schemaVersion, manifests, ...extra } = value;
    if (schemaVersion !== 2) throw corrupt(file, `schemaVersion must be 2, got ${quoteJson(schemaVersion)}`);
    if (manifests !== undefined && !Array.isArray(manifests)) throw corrupt(file, "manifests must be an array");
    if (extra.mediaType !== undefined && extra.mediaType !== MediaType.ImageIndex) {
      throw corrupt(file, `mediaType must be ${MediaType.ImageIndex}, got ${quoteJson(extra.mediaType)}`);
    }
    const model = new IndexModel(extra);
    (manifests ?? []).forEach((raw: unknown, i: number) => {
      const desc = checkEntry(raw, file, i);
      const name = desc.annotations?.[REF_NAME_ANNOTATION];
      // Duplicate ref names: the later entry wins, as in other readers; a rewrite keeps only it.
      model.put(name !== undefined ? tagKey(name) : untaggedKey(desc.digest), desc);
    });
    return model;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Apply one change; false when it changed nothing (so no write is needed). */
  apply(change: IndexChange): boolean {
    switch (change.kind) {
      case "tag": {
        const key = tagKey(change.name);
        const desc = cleanDescriptor(change.desc, change.name);
        const json = JSON.stringify(desc);
        const before = this.entries.get(key);
        const hadUntagged = this.remove(untaggedKey(desc.digest));
        if (before && (before.json ?? JSON.stringify(before.desc)) === json) return hadUntagged;
        this.put(key, desc, json);
        return true;
      }
      case "untag":
        return this.remove(tagKey(change.name));
      case "record": {
        if (this.keysByDigest.has(change.desc.digest)) return false;
        this.put(untaggedKey(change.desc.digest), cleanDescriptor(change.desc, undefined));
        return true;
      }
      case "unrecord": {
        let changed = false;
        for (const digest of change.digests) changed = this.remove(untaggedKey(digest)) || changed;
        return changed;
      }
      case "forget": {
        const keys = this.keysByDigest.get(change.digest);
        if (!keys) return false;
        for (const key of [...keys]) this.remove(key);
        return true;
      }
    }
  }

  /** The descriptor a ref name points at, without the ref name annotation. */
  tagged(name: string): Descriptor | undefined {
    const entry = this.entries.get(tagKey(name));
    return entry ? withoutRefName(entry.desc) : undefined;
  }

  /** Some entry's descriptor for the digest (tagged or not), without the ref name annotation. */
  byDigest(digest: string): Descriptor | undefined {
    const keys = this.keysByDigest.get(digest);
    if (!keys) return undefined;
    for (const key of keys) {
      const entry = this.entries.get(key);
      if (entry) return withoutRefName(entry.desc);
    }
    return undefined;
  }

  hasDigest(digest: string): boolean {
    return this.keysByDigest.has(digest);
  }

  /** Ref names in index order. */
  tagNames(): string[] {
    const names: string[] = [];
    for (const key of this.entries.keys()) if (key.startsWith("t:")) names.push(key.slice(2));
    return names;
  }

  /** Every entry in index order: `name` is the ref name, absent for untagged entries. */
  list(): Array<{ name?: string; descriptor: Descriptor }> {
    const out: Array<{ name?: string; descriptor: Descriptor }> = [];
    for (const [key, entry] of this.entries) {
      const descriptor = withoutRefName(entry.desc);
      out.push(key.startsWith("t:") ? { name: key.slice(2), descriptor } : { descriptor });
    }
    return out;
  }

  /** Distinct digests named by any entry. */
  digests(): string[] {
    return [...this.keysByDigest.keys()];
  }

  serialize(): string {
    const { mediaType, ...rest } = this.extra;
    const parts: string[] = [];
    for (const entry of this.entries.values()) parts.push((entry.json ??= JSON.stringify(entry.desc)));
    const head = `{"schemaVersion":2,"mediaType":${JSON.stringify(mediaType ?? MediaType.ImageIndex)},"manifests":[`;
    const tail = Object.keys(rest).length > 0 ? `],${JSON.stringify(rest).slice(1)}` : "]}";
    return `${head}${parts.join(",")}${tail}\n`;
  }

  private put(key: string, desc: Descriptor, json?: string): void {
    const old = this.entries.get(key);
    if (old && old.desc.digest !== desc.digest) this.unlinkDigest(old.desc.digest, key);
    this.entries.set(key, json === undefined ? { desc } : { desc, json });
    let keys = this.keysByDigest.get(desc.digest);
    if (!keys) this.keysByDigest.set(desc.digest, (keys = new Set()));
    keys.add(key);
  }

  private remove(key: string): boolean {
    const old = this.entries.get(key);
    if (!old) return false;
    this.entries.delete(key);
    this.unlinkDigest(old.desc.digest, key);
    return true;
  }

  private unlinkDigest(digest: string, key: string): void {
    const keys = this.keysByDigest.get(digest);
    keys?.delete(key);
    if (keys?.size === 0) this.keysByDigest.delete(digest);
  }
}

function tagKey(name: string): string {
  return `t:${name}`;
}

function untaggedKey(digest: string): string {
  return `d:${digest}`;
}

/** The descriptor as stored: no embedded data (it would bloat the index), the ref name set or removed. */
function cleanDescriptor(desc: Descriptor, refName: string | undefined): Descriptor {
  const { data: _data, annotations, ...rest } = desc;
  const out: Descriptor = { ...rest };
  const kept = { ...annotations };
  delete kept[REF_NAME_ANNOTATION];
  if (refName !== undefined) kept[REF_NAME_ANNOTATION] = refName;
  if (Object.keys(kept).length > 0) out.annotations = kept;
  return out;
}

function withoutRefName(desc: Descriptor): Descriptor {
  if (desc.annotations?.[REF_NAME_ANNOTATION] === undefined) return { ...desc };
  return cleanDescriptor(desc, undefined);
}

function corrupt(file: string, why: string, cause?: unknown): InvalidContentError {
  return new InvalidContentError(`${file} is not a valid OCI image index: ${why}`, {
    hint: CORRUPT_HINT,
    ...(cause === undefined ? {} : { cause }),
  });
}

/** One entry of manifests: a descriptor (fields it does not define kept as found) with a non-empty ref name if any. */
function checkEntry(raw: unknown, file: string, i: number): Descriptor {
  const desc = readDescriptor(raw, `manifests[${i}]`, `${file} is not a valid OCI image index`, { keepUnknownFields: true, hint: CORRUPT_HINT });
  if (desc.annotations?.[REF_NAME_ANNOTATION] === "") throw corrupt(file, `manifests[${i}]: ${REF_NAME_ANNOTATION} must not be empty`);
  return desc;
}
