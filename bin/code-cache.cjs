// V8's compiled code for the bundled CLI, kept between runs (on every Node: see bin/kit.js for why not Node's own).
//
// The bundle's chunks are CommonJS scripts that require only Node's built-in modules and each other by relative path
// (scripts/build-cli.mjs), so they are loaded here, each compiled with vm.Script and the cached data V8 made for it on
// an earlier run. V8 itself refuses cached data made by another V8 version, with other flags, or for a source of
// another length (script.cachedDataRejected); the directory names the Node version, the architecture and the bundle
// build, so data for another build is never even offered. A rejected or missing cache only means compiling from source.
//
// Where: $NODE_COMPILE_CACHE/kit-v8 when set, else $XDG_CACHE_HOME/aegis/kit-v8 or ~/.cache/aegis/kit-v8. Cached
// data is code the process runs, so the directory must be the user's own and writable by no one else (created 0700);
// otherwise nothing is read from or written to it. One subdirectory per command, since V8 caches the functions the
// run that wrote it had compiled: `kit pull`'s data holds pull's code. The data of all a command's chunks is one file
// (chunks.v8: a JSON line naming each chunk's span, then the spans), read once: a command loads ~30 chunks, and ~30
// more file reads cost ~2 ms of a start. Written after a command ran that compiled a chunk without data (atomically:
// temporary file, then rename), for every chunk it loaded, keeping the data of chunks it did not; directories of
// other builds are removed when a new one is made.
"use strict";
const fs = require("node:fs");
const Module = require("node:module");
const path = require("node:path");
const vm = require("node:vm");

/** The cache directory for this Node, build and command; undefined when there is none to trust. */
function cacheDirectory(entry, argv, env) {
  const home = env.HOME || require("node:os").homedir();
  const root = env.NODE_COMPILE_CACHE
    ? path.join(path.resolve(env.NODE_COMPILE_CACHE), "kit-v8")
    : path.join(env.XDG_CACHE_HOME ? path.resolve(env.XDG_CACHE_HOME) : path.join(home, ".cache"), "aegis", "kit-v8");
  let build;
  try {
    const st = fs.statSync(entry);
    build = `${process.version}-${process.arch}-${st.size.toString(36)}-${Math.trunc(st.mtimeMs).toString(36)}`;
  } catch {
    return undefined;
  }
  const word = argv.slice(2).find((a) => !a.startsWith("-"));
  const command = word !== undefined && /^[a-z][a-z-]{0,31}$/.test(word) ? word : "_";
  return { root, build: path.join(root, build), dir: path.join(root, build, command) };
}

/** The root exists as the user's own directory that no one else may write to. */
function trusted(root) {
  let st;
  try {
    st = fs.lstatSync(root);
  } catch {
    return false;
  }
  if (!st.isDirectory()) return false;
  if (typeof process.getuid === "function" && st.uid !== process.getuid()) return false;
  return process.platform === "win32" || (st.mode & 0o022) === 0;
}

const PACK = "chunks.v8";
/** Longest header line read (a build has some hundred chunks); a longer one is not a pack of ours. */
const MAX_HEADER = 64 * 1024;

/** The cached data in a pack, by chunk file name; empty when there is none or it is not a pack. */
function readPack(file) {
  const entries = new Map();
  let buf;
  try {
    buf = fs.readFileSync(file);
  } catch {
    return entries;
  }
  const newline = buf.subarray(0, MAX_HEADER).indexOf(10);
  if (newline < 0) return entries;
  let header;
  try {
    header = JSON.parse(buf.toString("utf8", 0, newline));
  } catch {
    return entries;
  }
  const files = header !== null && typeof header === "object" ? header.files : undefined;
  if (files === null || typeof files !== "object") return entries;
  const base = newline + 1;
  for (const [name, span] of Object.entries(files)) {
    if (!Array.isArray(span) || span.length !== 2 || !span.every((n) => Number.isSafeInteger(n) && n >= 0)) continue;
    const [offset, length] = span;
    if (base + offset + length <= buf.length) entries.set(name, buf.subarray(base + offset, base + offset + length));
  }
  return entries;
}

/** A pack of `entries` (chunk file name to cached data). */
function packOf(entries) {
  const files = {};
  let offset = 0;
  for (const [name, data] of entries) {
    files[name] = [offset, data.length];
    offset += data.length;
  }
  return Buffer.concat([Buffer.from(`${JSON.stringify({ files })}\n`), ...entries.values()]);
}

/**
 * Load `entry` (and the chunks it requires) with V8's cached data; returns its exports and save(), which writes the
 * data anew when a chunk had none (call it once the command has run, so the data covers what it compiled).
 */
function loadWithCodeCache(entry, argv, env = process.env) {
  const location = cacheDirectory(entry, argv, env);
  const readable = location !== undefined && trusted(location.root);
  const modules = new Map();
  const packed = readable ? readPack(path.join(location.dir, PACK)) : new Map();
  const loaded = [];
  let missing = false;
  const builtin = Module.createRequire(entry);

  function load(file) {
    const known = modules.get(file);
    if (known !== undefined) return known.exports;
    const module = { id: file, filename: file, exports: {}, loaded: false };
    modules.set(file, module);
    const source = fs.readFileSync(file, "utf8");
    const name = path.basename(file);
    const cachedData = packed.get(name);
    const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
    if (cachedData === undefined || script.cachedDataRejected) missing = true;
    loaded.push({ name, script });
    const dir = path.dirname(file);
    // The chunks name each other "./chunk-….cjs" or "./chunks/chunk-….cjs" (no "..", no "." inside): joined as strings.
    const resolve = (id) => (id.startsWith("./") && !id.includes("/.") ? `${dir}${path.sep}${id.slice(2)}` : path.resolve(dir, id));
    const localRequire = (id) => (id.startsWith("./") || id.startsWith("../") ? load(resolve(id)) : builtin(id));
    localRequire.resolve = (id) => (id.startsWith("./") || id.startsWith("../") ? resolve(id) : builtin.resolve(id));
    script.runInThisContext()(module.exports, localRequire, module, file, dir);
    module.loaded = true;
    return module.exports;
  }

  function save() {
    if (location === undefined || !missing) return;
    try {
      fs.mkdirSync(location.root, { recursive: true, mode: 0o700 });
      if (!trusted(location.root)) return;
      const fresh = !fs.existsSync(location.build);
      fs.mkdirSync(location.dir, { recursive: true, mode: 0o700 });
      // Every chunk this run loaded, anew: V8's data then holds the functions this run compiled besides those the
      // data it was given held, so a command whose runs take different paths (a pull from the store, one from a
      // registry) ends up with data for all of them. Chunks this run did not load keep theirs.
      const entries = readable ? packed : new Map();
      for (const { name, script } of loaded) entries.set(name, script.createCachedData());
      const dataFile = path.join(location.dir, PACK);
      const temp = `${dataFile}.${process.pid}.tmp`;
      fs.writeFileSync(temp, packOf(entries), { mode: 0o600 });
      fs.renameSync(temp, dataFile);
      // A new build: the data of earlier ones is never used again.
      if (fresh) {
        for (const name of fs.readdirSync(location.root)) {
          if (name !== path.basename(location.build) && name.startsWith(`${process.version}-${process.arch}-`)) {
            fs.rmSync(path.join(location.root, name), { recursive: true, force: true });
          }
        }
      }
    } catch {
      // A cache that cannot be written is no cache; the command's outcome does not change.
    }
  }

  return { exports: load(entry), save };
}

module.exports = { loadWithCodeCache };
