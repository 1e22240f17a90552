/** Whether a result's endpoint (the repository that served it) is not the repository of its `REPO@DIGEST` reference: a mirror served it. */
export function servedByMirror(reference: string, endpoint: string): boolean {
  return reference.slice(0, reference.lastIndexOf("@")) !== endpoint;
}
