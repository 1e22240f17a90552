/**
 * Which end of a copy failed. "manifest … not found" reads the same whether
 * the source lacks it or the destination refused it, so copy errors say the
 * side and the target's name, keeping their class and code (and so the
 * CLI's exit codes): "copy: reading from the source r.example/team/app: …".
 */
import { OciError, withContext } from "../errors.js";

export type CopySide = "source" | "destination";

const PREFIX = "copy: ";
/** The side each marked error came from, so a caller can tell without reading messages. */
const sides = new WeakMap<OciError, CopySide>();

function nameOf(target: object): string {
  const name = (target as { name?: unknown }).name;
  return typeof name === "string" && name !== "" ? ` ${name}` : "";
}

/** err marked with the side it came from. Errors already marked and errors not ours pass unchanged. */
export function onSide(err: unknown, side: CopySide, target: object): unknown {
  if (!(err instanceof OciError) || err.message.startsWith(PREFIX)) return err;
  const doing = side === "source" ? "reading from the source" : "writing to the destination";
  const marked = withContext(err, `${PREFIX}${doing}${nameOf(target)}`);
  sides.set(marked, side);
  return marked;
}

/** The side a copy error was marked with; undefined for an error copy did not mark. */
export function failedSide(err: OciError): CopySide | undefined {
  return sides.get(err);
}

/** Run one operation against one side of the copy, marking its failure. */
export async function atSide<T>(side: CopySide, target: object, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw onSide(err, side, target);
  }
}

