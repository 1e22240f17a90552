/**
 * Pinning a kit's base image to the digest its tag names right now, so a
 * pushed kit always means the same image.
 */
import { type Descriptor, formatReference, OciError, parseReference } from "../oras/content.js";
import { type RemoteOptions, RemoteRepository } from "../oras/remote/index.js";
import { withDefaultCredentials } from "./remote-defaults.js";

export interface PinOptions {
  /**
   * For an image that already names a digest: confirm the digest exists at
   * the image's registry (default true). false needs no network (kit pack).
   */
  confirmDigest?: boolean;
}

/**
 * `registry/repo:tag@sha256:…`, fully qualified. A tag is resolved at the
 * image's registry; a digest already written is confirmed there, so a kit
 * never names an image that does not exist.
 */
export async function pinImage(image: string, remote: RemoteOptions = {}, opts: PinOptions = {}): Promise<string> {
  const ref = parseReference(image);
  if (ref.digest !== undefined && opts.confirmDigest === false) return formatReference(ref);
  return (await pinImageDescriptor(image, remote)).reference;
}

/** pinImage, also giving the image's manifest (or index) descriptor as its registry has it. */
export async function pinImageDescriptor(image: string, remote: RemoteOptions = {}): Promise<{ reference: string; descriptor: Descriptor }> {
  const ref = parseReference(image);
  const repo = new RemoteRepository(ref, withDefaultCredentials(remote));
  try {
    // With both a tag and a digest only the digest counts: the tag may have moved on since it was pinned.
    const descriptor = await repo.resolve(ref.digest ?? ref.tag!);
    return { reference: formatReference({ ...ref, digest: descriptor.digest }), descriptor };
  } catch (err) {
    if (!(err instanceof OciError)) throw err;
    // Keep the cause's code (not found, auth, network) so the exit code still says what went wrong.
    const message =
      ref.digest !== undefined
        ? `cannot confirm the kit's image ${image}: ${err.message}`
        : `cannot pin the kit's image ${image} to a digest: ${err.message}`;
    throw new OciError(err.code, message, {
      hint: "make the image reachable (\"kit login REGISTRY\"?), or push with --no-pin to record it unpinned",
      cause: err,
    });
  }
}
