/**
 * A pass over a YAML document's tokens (kit.yaml's, a mirror list's) before
 * it is parsed, stopping at the first limit it crosses: too many tokens (the
 * parser's time) or collections nested too deep (its stack). It costs time in proportion to the limits, not to the
 * file, so a 1 MiB file of brackets is refused in microseconds.
 *
 * Nesting counts open flow collections exactly and block collections by the
 * indentations still open plus the indicators (`-`, `?`, `:`) on the line: a
 * slight overcount, far below the limit for any real kit.
 */
import { Lexer } from "yaml";
import { MAX_KIT_YAML_DEPTH, MAX_KIT_YAML_TOKENS } from "./limits.js";

/** What the lexer emits that is not in the source: document start, flow error end, "a scalar follows". */
const DOCUMENT = "\x02";
const FLOW_ERROR_END = "\x18";
const SCALAR = "\x1f";

/** The limits of one kind of document, and what it is, for the message. */
export interface YamlBudget {
  maxTokens: number;
  maxDepth: number;
  /** Ends the too-many-tokens message: "a kit is a short declaration". */
  why: string;
}

export const KIT_YAML_BUDGET: YamlBudget = { maxTokens: MAX_KIT_YAML_TOKENS, maxDepth: MAX_KIT_YAML_DEPTH, why: "a kit is a short declaration" };

export interface YamlBudgetProblem {
  message: string;
  /** Offset in the text where the limit was crossed. */
  offset: number;
}

export function yamlBudgetProblem(text: string, budget: YamlBudget = KIT_YAML_BUDGET): YamlBudgetProblem | undefined {
  let tokens = 0;
  let offset = 0;
  let flow = 0;
  /** Indentation of the block collections open above the current line. */
  const indents: number[] = [];
  let lineStart = true;
  let indent = 0;
  let indicatorsOnLine = 0;
  let scalarNext = false;
  let blockScalarNext = false;

  const startContent = (): void => {
    if (!lineStart) return;
    lineStart = false;
    if (flow > 0) return;
    while (indents.length > 0 && indents[indents.length - 1]! > indent) indents.pop();
    if (indents[indents.length - 1] !== indent) indents.push(indent);
  };
  const tooDeep = (): boolean => flow + indents.length + indicatorsOnLine > budget.maxDepth;

  for (const token of new Lexer().lex(text)) {
    if (++tokens > budget.maxTokens) {
      return { message: `more than ${budget.maxTokens} YAML tokens; ${budget.why}`, offset };
    }
    if (token === DOCUMENT || token === FLOW_ERROR_END) continue;
    if (token === SCALAR) {
      scalarNext = true;
      continue;
    }
    const at = offset;
    offset += token.length;
    if (scalarNext) {
      scalarNext = false;
      // A block scalar's body starts at a line start but opens nothing.
      if (blockScalarNext) blockScalarNext = false;
      else startContent();
      continue;
    }
    const first = token[0];
    if (token === "\n" || token === "\r\n") {
      lineStart = true;
      indent = 0;
      indicatorsOnLine = 0;
      continue;
    }
    if (first === " " || first === "\t") {
      if (lineStart) indent = token.length;
      continue;
    }
    if (first === "#") continue;
    startContent();
    if (token === "[" || token === "{") flow++;
    else if (token === "]" || token === "}") flow = Math.max(0, flow - 1);
    else if ((token === "-" || token === "?" || token === ":") && flow === 0) indicatorsOnLine++;
    else if (first === "|" || first === ">") blockScalarNext = true;
    if (tooDeep()) return { message: `collections nested more than ${budget.maxDepth} levels deep`, offset: at };
  }
  return undefined;
}
