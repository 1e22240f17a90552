import { resolve } from "node:path";
import { defaultStorePath, KitStore } from "../../kit/store.js";
import { layoutReportError, type LayoutReport } from "../../oras/layout/verify-layout.js";
import { openLayoutOption } from "../layout-option.js";
import { printError, printJson, printLine } from "../output.js";

export async function run(flags: { json?: boolean; layout?: string }): Promise<void> {
  let path: string;
  let where: string;
  let report: LayoutReport;
  if (flags.layout !== undefined) {
    const layout = await openLayoutOption(flags.layout);
    ({ root: path, name: where } = layout);
    report = await layout.verify();
  } else {
    const store = await KitStore.openIfExists();
    // A store never created holds nothing that could be damaged.
    const missing = resolve(defaultStorePath());
    ({ path, where } = store ?? { path: missing, where: `the local store ${missing}` });
    report = store ? await store.verify() : { blobs: 0, bytes: 0, manifests: 0, problems: [] };
  }
  const failure = layoutReportError(report, where);
  if (flags.json) {
    printJson({ layout: path, ok: failure === undefined, ...report });
  } else if (failure === undefined) {
    printLine(`verified ${count(report.blobs, "blob")} (${report.bytes} bytes) and ${count(report.manifests, "manifest")} in ${where}: no problems`);
  } else {
    for (const problem of report.problems) printError(`${problem.digest}: ${problem.message}`);
  }
  if (failure) throw failure;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
