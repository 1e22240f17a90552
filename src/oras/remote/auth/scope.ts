/**
 * Token scopes (`TYPE:NAME:ACTIONS`, e.g. `repository:team/app:pull,push`), as
 * in the distribution token specification. Scopes are normalised (actions
 * merged per resource and sorted) so that equal needs share one cached token.
 */

export type RepositoryAction = "pull" | "push" | "delete" | "*";

export function repositoryScope(repository: string, ...actions: RepositoryAction[]): string {
  return `repository:${repository}:${actions.join(",")}`;
}

export const pullScope = (repository: string): string => repositoryScope(repository, "pull");
export const pushScope = (repository: string): string => repositoryScope(repository, "pull", "push");
export const deleteScope = (repository: string): string => repositoryScope(repository, "delete");

interface ParsedScope {
  resource: string; // TYPE:NAME
  actions: string[];
}

function parseScope(scope: string): ParsedScope | undefined {
  // The name may hold a colon (a host:port prefix on some registries), so split at the first and last.
  const first = scope.indexOf(":");
  const last = scope.lastIndexOf(":");
  if (first <= 0 || last === first) return undefined;
  return { resource: scope.slice(0, last), actions: scope.slice(last + 1).split(",").filter((a) => a !== "") };
}

/**
 * Merge scopes naming the same resource, dedupe and sort actions (`*` absorbs
 * the rest), and sort the result. Unparseable scopes are kept verbatim.
 */
export function normaliseScopes(scopes: Iterable<string>): string[] {
  const byResource = new Map<string, Set<string>>();
  const verbatim = new Set<string>();
  for (const scope of scopes) {
    for (const part of scope.split(" ")) {
      if (part === "") continue;
      const parsed = parseScope(part);
      if (!parsed) {
        verbatim.add(part);
        continue;
      }
      let actions = byResource.get(parsed.resource);
      if (!actions) byResource.set(parsed.resource, (actions = new Set()));
      for (const a of parsed.actions) actions.add(a);
    }
  }
  const out = [...verbatim];
  for (const [resource, actions] of byResource) {
    const list = actions.has("*") ? ["*"] : [...actions].sort();
    if (list.length > 0) out.push(`${resource}:${list.join(",")}`);
  }
  return out.sort();
}

/** Cache key for a set of scopes: equal sets give equal keys. */
export function scopeKey(scopes: Iterable<string>): string {
  return normaliseScopes(scopes).join(" ");
}
