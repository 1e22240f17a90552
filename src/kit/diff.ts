/**
 * What changed between two kits, and what an existing deployment must do
 * about it. Pure: no I/O, no zod; the callers load the kits (spec/cli.md,
 * `kit diff`, documents the rules and the JSON shape).
 *
 * A change is *breaking* when a deployment of the old kit needs action to run
 * the new one (supply a new required secret, shrink an instance to a lowered
 * maximum, stop relying on a removed port, follow a renamed kit). It is marked
 * *review* when the kit asks for more than before in a way someone should look
 * at before it lands: a new egress host, a base image from another repository.
 */
import { parseReference, type RegistryReference } from "../oras/content.js";
import type { KitManifest } from "./schema.js";

/** The kit.yaml fields a diff compares (a validated KitManifest or KitConfig). */
export type DiffableKit = Pick<KitManifest, "name" | "version" | "description" | "image" | "secrets" | "exposes" | "resources" | "egress">;

export type ChangeKind = "added" | "removed" | "changed" | "moved";
export type ChangeValue = string | number | null;

export interface KitChange {
  /** The kit.yaml field: `name`, `secrets.required`, `resources.max_vcpus`, `secrets.optional[KEY].description`, … */
  path: string;
  change: ChangeKind;
  /** The list member added, removed or moved: a secret name, `PORT/PROTOCOL`, an egress host. */
  item?: string;
  /** The old and new value of a changed field (`null`: absent); for a moved secret, the lists it moved between. */
  from?: ChangeValue;
  to?: ChangeValue;
  /** Only on `image` changes: true or false when both sides carry a digest, null when one does not (a directory, an unpinned kit). */
  digestChanged?: boolean | null;
  breaking: boolean;
  review: boolean;
  /** Why it is breaking or needs review; absent otherwise. */
  reason?: string;
}

export interface KitDiff {
  /** No change at all. */
  identical: boolean;
  /** At least one change is breaking. */
  breaking: boolean;
  /** At least one change needs review. */
  review: boolean;
  /** In kit.yaml order (name, version, description, image, secrets, exposes, resources, egress), list members sorted. */
  changes: KitChange[];
}

export function diffKits(a: DiffableKit, b: DiffableKit): KitDiff {
  const changes = [
    ...diffName(a.name, b.name),
    ...diffVersion(a.version, b.version),
    ...diffScalar("description", a.description, b.description),
    ...diffImage(a.image, b.image),
    ...diffSecrets(a.secrets, b.secrets),
    ...diffPorts(a.exposes ?? [], b.exposes ?? []),
    ...diffResources(a.resources ?? {}, b.resources ?? {}),
    ...diffEgress(a.egress ?? [], b.egress ?? []),
  ];
  return { identical: changes.length === 0, breaking: changes.some((c) => c.breaking), review: changes.some((c) => c.review), changes };
}

function change(fields: Omit<KitChange, "breaking" | "review">, mark: { breaking?: string; review?: string } = {}): KitChange {
  const result: KitChange = { ...fields, breaking: mark.breaking !== undefined, review: mark.review !== undefined };
  const reason = mark.breaking ?? mark.review;
  if (reason !== undefined) result.reason = reason;
  return result;
}

function diffScalar(path: string, from: ChangeValue | undefined, to: ChangeValue | undefined): KitChange[] {
  if (from === to) return [];
  const kind: ChangeKind = from === undefined ? "added" : to === undefined ? "removed" : "changed";
  return [change({ path, change: kind, from: from ?? null, to: to ?? null })];
}

function diffName(from: string, to: string): KitChange[] {
  if (from === to) return [];
  // aegisd names kits by name (famiglia@sha256:…): a deployment must be pointed at the new one.
  return [change({ path: "name", change: "changed", from, to }, { breaking: "deployments name the kit by its name" })];
}

function diffVersion(from: string, to: string): KitChange[] {
  if (from === to) return [];
  return [change({ path: "version", change: "changed", from, to })];
}

function diffImage(fromText: string, toText: string): KitChange[] {
  const from = parseReference(fromText);
  const to = parseReference(toText);
  const digestChanged = from.digest === undefined || to.digest === undefined ? null : from.digest !== to.digest;
  const sameRepository = repositoryOf(from) === repositoryOf(to);
  // A digest known on one side only is no change: a directory's image is pinned when it is pushed.
  if (sameRepository && from.tag === to.tag && digestChanged !== true) return [];
  const fields: Omit<KitChange, "breaking" | "review"> = { path: "image", change: "changed", from: fromText, to: toText, digestChanged };
  return [change(fields, sameRepository ? {} : { review: "the base image comes from a different repository" })];
}

function repositoryOf(ref: RegistryReference): string {
  return `${ref.registry}/${ref.repository}`;
}

type Secret = { name: string; description?: string | undefined };
type SecretGroup = "required" | "optional";

function diffSecrets(a: DiffableKit["secrets"], b: DiffableKit["secrets"]): KitChange[] {
  const before = secretIndex(a);
  const after = secretIndex(b);
  const changes: KitChange[] = [];
  for (const name of sortedUnion(before.keys(), after.keys())) {
    const old = before.get(name);
    const now = after.get(name);
    if (old === undefined && now !== undefined) {
      changes.push(
        now.group === "required"
          ? change({ path: "secrets.required", change: "added", item: name }, { breaking: "deployments must provide the new required secret" })
          : change({ path: "secrets.optional", change: "added", item: name }),
      );
    } else if (old !== undefined && now === undefined) {
      changes.push(change({ path: `secrets.${old.group}`, change: "removed", item: name }));
    } else if (old !== undefined && now !== undefined) {
      if (old.group !== now.group) {
        const fields = { path: `secrets.${now.group}`, change: "moved" as const, item: name, from: `secrets.${old.group}`, to: `secrets.${now.group}` };
        changes.push(now.group === "required" ? change(fields, { breaking: "deployments must provide a secret that was optional" }) : change(fields));
      }
      changes.push(...diffScalar(`secrets.${now.group}[${name}].description`, old.secret.description, now.secret.description));
    }
  }
  return changes;
}

function secretIndex(secrets: DiffableKit["secrets"]): Map<string, { group: SecretGroup; secret: Secret }> {
  const index = new Map<string, { group: SecretGroup; secret: Secret }>();
  for (const group of ["required", "optional"] as const) {
    for (const secret of secrets?.[group] ?? []) index.set(secret.name, { group, secret });
  }
  return index;
}

function diffPorts(a: NonNullable<DiffableKit["exposes"]>, b: NonNullable<DiffableKit["exposes"]>): KitChange[] {
  const key = (p: { port: number; protocol: string }) => `${p.port}/${p.protocol}`;
  return diffMembers(
    "exposes",
    a.map(key),
    b.map(key),
    () => ({}),
    () => ({ breaking: "clients of the removed port lose it" }),
    comparePorts,
  );
}

function comparePorts(x: string, y: string): number {
  const [px, qx] = x.split("/") as [string, string];
  const [py, qy] = y.split("/") as [string, string];
  return Number(px) - Number(py) || compareText(qx, qy);
}

function diffEgress(a: readonly string[], b: readonly string[]): KitChange[] {
  return diffMembers(
    "egress",
    a,
    b,
    () => ({ review: "the kit expects to reach a new host" }),
    () => ({}),
    compareText,
  );
}

function diffMembers(
  path: string,
  before: readonly string[],
  after: readonly string[],
  added: (item: string) => { breaking?: string; review?: string },
  removed: (item: string) => { breaking?: string; review?: string },
  order: (x: string, y: string) => number,
): KitChange[] {
  const old = new Set(before);
  const now = new Set(after);
  const changes: KitChange[] = [];
  for (const item of [...new Set([...before, ...after])].sort(order)) {
    if (!old.has(item)) changes.push(change({ path, change: "added", item }, added(item)));
    else if (!now.has(item)) changes.push(change({ path, change: "removed", item }, removed(item)));
  }
  return changes;
}

type Resources = NonNullable<DiffableKit["resources"]>;

function diffResources(a: Resources, b: Resources): KitChange[] {
  const changes: KitChange[] = [];
  for (const field of ["memory_mb", "vcpus"] as const) changes.push(...diffScalar(`resources.${field}`, a[field], b[field]));
  for (const field of ["max_memory_mb", "max_vcpus"] as const) {
    const from = a[field];
    const to = b[field];
    if (from === to) continue;
    const [scalar] = diffScalar(`resources.${field}`, from, to);
    // No maximum means no kit-imposed limit: introducing one lowers it too.
    const lowered = to !== undefined && (from === undefined || to < from);
    changes.push(lowered ? change(scalar!, { breaking: "instances above the new maximum must be resized" }) : scalar!);
  }
  return changes;
}

function sortedUnion(a: Iterable<string>, b: Iterable<string>): string[] {
  return [...new Set([...a, ...b])].sort(compareText);
}

function compareText(x: string, y: string): number {
  return x < y ? -1 : x > y ? 1 : 0;
}
