/**
 * Which end of a copy failed. "manifest … not found" reads the same whether
 * the source lacks it or the destination refused it, so copy errors say the
 * side and the target's name, keeping their class and code (and so the
 * CLI's exit codes): "copy: reading from the source r.example/team/app: …".
 */
import { OciError, withContext } from "../errors.js";

export type CopySide = "source" | "destination";

const PREFIX = "copy: ";

function nameOf(target: object): string {
  const name = (target as { name?: unknown }).name;
  return typeof name === "string" && name !== "" ? ` ${name}` : "";
}

/** err marked with the side it came from. Errors already marked and errors not ours pass unchanged. */
export function onSide(err: unknown, side: CopySide, target: object): unknown {
  if (!(err instanceof OciError) || err.message.startsWith(PREFIX)) return err;
  const doing = side === "source" ? "reading from the source" : "writing to the destination";
  return withContext(err, `${PREFIX}${doing}${nameOf(target)}`);
}

/** Run one operation against one side of the copy, marking its failure. */
export async function atSide<T>(side: CopySide, target: object, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw onSide(err, side, target);
  }
}

