/**
 * Pinning a kit's base image to the digest its tag names right now, so a
 * pushed kit always means the same image.
 */
import { formatReference, OciError, parseReference } from "../oras/content.js";
import { type RemoteOptions, RemoteRepository } from "../oras/remote/index.js";
import { withDefaultCredentials } from "./remote-defaults.js";

/** `registry/repo:tag@sha256:…`, fully qualified. An image that already names a digest needs no network. */
export async function pinImage(image: string, remote: RemoteOptions = {}): Promise<string> {
  const ref = parseReference(image);
  if (ref.digest !== undefined) return formatReference(ref);
  try {
    const repo = new RemoteRepository(ref, withDefaultCredentials(remote));
    const desc = await repo.resolve(ref.tag!);
    return formatReference({ ...ref, digest: desc.digest });
  } catch (err) {
    if (!(err instanceof OciError)) throw err;
    // Keep the cause's code (not found, auth, network) so the exit code still says what went wrong.
    throw new OciError(err.code, `cannot pin the kit's image ${image} to a digest: ${err.message}`, {
      hint: "make the image reachable (kit login?), or push with --no-pin to record it unpinned",
      cause: err,
    });
  }
}
