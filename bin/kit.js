#!/usr/bin/env node
// CommonJS (bin/package.json), so no ESM loader starts up. Loads the bundled CLI (dist/bundle, CommonJS chunks) and
// runs it; start-up is most of a small command's cost, so V8's compiled code is kept between runs by code-cache.cjs:
// each chunk compiled with vm.Script and V8's cached data from a directory of the user's (see there). Whatever goes
// wrong with a cache, the chunk is compiled from source, as without one. Also on Node >= 22.1, whose own compile cache
// (module.enableCompileCache) keeps only what V8 compiled before a module ran: on Node 24 here ours, written after
// the command ran, starts kit validate in 96 ms against 133 and a cold pull in 177 against 241.
// NODE_DISABLE_COMPILE_CACHE=1 turns it off, as it does Node's.
"use strict";
// From Node 22, V8 optimises hot functions with Maglev on background threads that allocate the code themselves and,
// when the heap is full, wait for a garbage collection only the main thread can run. process.exit() joins those
// threads without running one, so such an exit never ends (nodejs/node#54918; here 1 kit copy in ~60 under load).
// A process this short gains nothing from Maglev. Set before any chunk is compiled: V8's code cache records the flags.
if (Number(process.versions.node.split(".")[0]) >= 22) require("node:v8").setFlagsFromString("--no-maglev");
const path = require("node:path");

const entry = path.join(__dirname, "../dist/bundle/main.cjs");
// With --debug, stack traces point into src/ rather than the minified bundle. Maps must be enabled before
// the bundle loads, and parsing them costs start-up time, so only then; the chunks are then loaded by Node itself.
const debug = process.argv.includes("--debug") || process.env.KIT_DEBUG === "1";
let cli;
let saveCodeCache = () => {};
if (debug) {
  process.setSourceMapsEnabled(true);
  cli = require(entry);
} else if (process.env.NODE_DISABLE_COMPILE_CACHE === "1") {
  cli = require(entry);
} else {
  ({ exports: cli, save: saveCodeCache } = require("./code-cache.cjs").loadWithCodeCache(entry, process.argv));
}

// main() returns once stdout and stderr have drained, so exiting now loses nothing; exiting at once matters
// because idle keep-alive sockets would otherwise hold the process open.
cli.main(process.argv).then((code) => {
  saveCodeCache();
  process.exit(code);
});
