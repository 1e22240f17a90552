// `node --import <this file>`: every module the process loads is appended, one URL a line, to $KIT_LOAD_LOG.
// Lets a test see which bundle chunks a command reads (a chunk never loaded costs nothing at start-up).
// The CLI's chunks are CommonJS scripts read with fs.readFileSync (by bin/code-cache.cjs, or Node's own loader), so
// those reads are recorded too; ES modules through the loader hooks. At exit, Node's own modules the process loaded
// are appended as `node:NAME` lines (from process.moduleLoadList).
import fs from "node:fs";
import { register } from "node:module";
import { pathToFileURL } from "node:url";

const log = process.env.KIT_LOAD_LOG;
register("./record-loads-hooks.mjs", import.meta.url, { data: { log } });
if (log) {
  const readFileSync = fs.readFileSync;
  fs.readFileSync = function (file, ...rest) {
    const result = readFileSync.call(this, file, ...rest);
    if (typeof file === "string" && /\.c?js$/.test(file)) fs.appendFileSync(log, `${pathToFileURL(file).href}\n`);
    return result;
  };
  process.on("exit", () => {
    const builtins = process.moduleLoadList.filter((m) => m.startsWith("NativeModule ")).map((m) => `node:${m.slice("NativeModule ".length)}`);
    fs.appendFileSync(log, `${builtins.join("\n")}\n`);
  });
}
