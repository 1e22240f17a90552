/**
 * Every limit on what the OCI client reads from outside (registries, token
 * services, credential helpers, files on disk), in one place. Each is a
 * refusal, never a silent truncation: the error it gives is documented in
 * spec/limits.md, which lists these with the kit's own (src/kit/limits.ts).
 */

const KiB = 1024;
const MiB = 1024 * KiB;

// ---- content ----

/** The largest manifest (image manifest, index, referrers index page) accepted from anywhere: the distribution-spec's recommended limit. */
export const MAX_MANIFEST_BYTES = 4 * MiB;
/** Descriptors one manifest lists (an index's or referrers page's `manifests`, an image's `layers`), and a whole referrers list. */
export const MAX_MANIFEST_CHILDREN = 10_000;
/** Manifests on any path down from the root of a copied graph (an index of indexes of images is 3). */
export const MAX_INDEX_DEPTH = 16;
/** Unique nodes (manifests and blobs) in one copied graph, unless the caller raises it (PlanOptions.maxNodes). */
export const DEFAULT_MAX_NODES = 50_000;
/** Nesting of arrays and objects in any JSON document read (manifests, index.json, docker config, kit config). */
export const MAX_JSON_DEPTH = 64;

// ---- image layouts on disk ----

/** An image layout's index.json: 64 MiB holds a few hundred thousand entries. */
export const MAX_INDEX_BYTES = 64 * MiB;
/** The `oci-layout` marker file. */
export const MAX_OCI_LAYOUT_BYTES = 64 * KiB;
/** A lock file beside index.json (written by another process). */
export const MAX_LOCK_FILE_BYTES = 4 * KiB;
/** A ref name (`org.opencontainers.image.ref.name`) in a layout. */
export const MAX_REF_NAME_LENGTH = 255;

// ---- references ----

/** The `registry/repository` part of a reference (the distribution-spec's limit). */
export const MAX_REFERENCE_NAME_LENGTH = 255;
/** A whole registry reference: the name, a 128-character tag and a sha512 digest; longer text is refused unread (and unquoted). */
export const MAX_REFERENCE_LENGTH = MAX_REFERENCE_NAME_LENGTH + ":".length + 128 + "@sha512:".length + 128;

// ---- registry API ----

/** Redirects followed for one request. */
export const MAX_REDIRECTS = 10;
/** All `WWW-Authenticate` values of one response, together. */
export const MAX_WWW_AUTHENTICATE_BYTES = 8 * KiB;
/** A token service's JSON answer. */
export const MAX_TOKEN_RESPONSE_BYTES = 1 * MiB;
/** The part of an error response's body that is read (the rest is discarded, not an error). */
export const MAX_ERROR_BODY_BYTES = 64 * KiB;
/** Pages of one tag listing (`Link: rel="next"`). */
export const MAX_TAG_LIST_PAGES = 10_000;
/** One page of a tag listing. */
export const MAX_TAG_LIST_PAGE_BYTES = 4 * MiB;
/** Pages of one referrers listing; each page is at most MAX_MANIFEST_BYTES. */
export const MAX_REFERRERS_PAGES = 1000;
/** Attachments (referrers, cosign tags) one walk finds (`copy -r`, save, mirror, discover): every level together. */
export const MAX_REFERRERS_COPIED = 10_000;
/** Levels of attachments of attachments one walk follows (a signature of a kit of an image is 2). */
export const MAX_REFERRER_DEPTH = 8;

// ---- credentials ----

/** Docker's config.json. */
export const MAX_DOCKER_CONFIG_BYTES = 4 * MiB;
/** What a credential helper writes to stdout (or stderr). */
export const MAX_CRED_HELPER_OUTPUT_BYTES = 256 * KiB;
