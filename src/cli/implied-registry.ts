/**
 * A registry reference written without a registry host means Docker Hub, as
 * in docker and crane (spec/cli.md, "References"): `my-kit:1.0.0` is
 * `docker.io/library/my-kit:1.0.0`. When a command fails on such a name, the
 * error says the name it expanded to, so a failure at registry-1.docker.io is
 * never a mystery; a one-word name also gets the hint that kit commands read
 * it from the local store.
 */
import type { KitReference } from "../kit/reference.js";
import { OciError } from "../oras/errors.js";
import { formatReference, namesRegistryHost, repositoryName, type RegistryReference } from "../oras/reference.js";

/** What the user typed and what it was parsed into (any kind; only registry references without a host matter). */
export type WrittenReference = readonly [text: string, ref: KitReference];

/** Run `work`; an OciError it throws names the expanded form of every reference that had no registry host. */
export async function sayingExpandedNames<T>(written: readonly WrittenReference[], work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw withExpandedNames(err, written);
  }
}

export function withExpandedNames(err: unknown, written: readonly WrittenReference[]): unknown {
  if (!(err instanceof OciError)) return err;
  const implied = written.filter((w): w is readonly [string, RegistryReference] => w[1].kind === "registry" && !namesRegistryHost(w[0]));
  if (implied.length === 0) return err;
  const unnamed = implied.filter(([, ref]) => !err.message.includes(repositoryName(ref)));
  const message = unnamed.length === 0 ? err.message : `${err.message} (${unnamed.map(([text, ref]) => `"${text}" is ${formatReference(ref)}`).join(", ")})`;
  const oneWord = implied.find(([text]) => !text.includes("/"));
  const hint =
    oneWord === undefined
      ? err.hint
      : `"${oneWord[0]}" has no registry host, so it names Docker Hub; a kit in the local store is read with "kit inspect ${oneWord[0]}" or "kit pull ${oneWord[0]}"`;
  return new OciError(err.code, message, { ...(hint !== undefined ? { hint } : {}), cause: err });
}
