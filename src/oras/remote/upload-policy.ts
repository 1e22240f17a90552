/** How blobs are uploaded (the strategies are in upload.ts); a field of the client options. */

export interface UploadPolicy {
  /** Blobs up to this size are sent in one PUT from memory. */
  monolithicMaxBytes: number;
  /** PATCH chunk size for larger blobs (raised to the registry's OCI-Chunk-Min-Length when that is larger). */
  chunkBytes: number;
  /** How blobs above monolithicMaxBytes are sent. */
  largeBlobs: "chunked" | "stream";
}

export const DEFAULT_UPLOAD_POLICY: UploadPolicy = {
  monolithicMaxBytes: 8 * 1024 * 1024,
  chunkBytes: 16 * 1024 * 1024,
  largeBlobs: "chunked",
};
