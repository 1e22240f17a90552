// Bundles the compiled CLI (dist/cli, from tsc) into dist/bundle with esbuild, one CommonJS chunk per command, and embeds the
// git commit it is built from for `kit version` ("unknown" outside a git checkout, e.g. from a source tarball).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = realpathSync(fileURLToPath(new URL("..", import.meta.url)));

function gitCommit() {
  const git = (...args) => execFileSync("git", ["-C", root, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 10_000 }).trim();
  try {
    // Only this checkout's own commit: a tarball unpacked inside some other repository must not claim that one's.
    if (realpathSync(git("rev-parse", "--show-toplevel")) !== root) return "unknown";
    return git("rev-parse", "--verify", "HEAD");
  } catch {
    return "unknown";
  }
}

function packageVersion() {
  return JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")).version;
}

/**
 * An esbuild plugin: node:http2, as undici sees it, is the stand-in undici itself uses where Node has no http2
 * (`{ constants: {} }`). undici loads http2 at start-up for its HTTP/2 client, which it uses only when a dispatcher
 * is made with allowH2, and kit's never are (registries speak HTTP/1.1; so do oras and skopeo). Loading the real
 * module (with tls) costs every registry command ~10 ms.
 */
function noHttp2ForUndici() {
  return {
    name: "no-http2-for-undici",
    setup(b) {
      b.onResolve({ filter: /^(node:)?http2$/ }, (args) => (/[\\/]node_modules[\\/]undici[\\/]/.test(args.importer) ? { path: "http2", namespace: "no-http2" } : undefined));
      b.onLoad({ filter: /.*/, namespace: "no-http2" }, () => ({ contents: "module.exports = { constants: {} };", loader: "js" }));
    },
  };
}

/**
 * An esbuild plugin: node:NAME, as the modules `importer` matches see it, requires the module on first use. For
 * require() (CommonJS importers), an object whose properties are the module's; for ES imports, the functions
 * `exports` lists, each calling the module's own.
 */
function lazyBuiltin(name, importer, exports) {
  const namespace = `lazy-${name}${exports === undefined ? "" : "-esm"}`;
  return {
    name: namespace,
    setup(b) {
      b.onResolve({ filter: new RegExp(`^(node:)?${name}$`) }, (args) => (importer.test(args.importer) ? { path: name, namespace } : undefined));
      b.onLoad({ filter: /.*/, namespace }, () => ({
        contents:
          exports === undefined
            ? `let m; module.exports = new Proxy({}, { get: (_, key) => (m ??= require("node:${name}"))[key] });`
            : `let m; const load = () => (m ??= require("node:${name}"));\n` + exports.map((e) => `export function ${e}(...args) { return load().${e}(...args); }\n`).join(""),
        loader: "js",
      }));
    },
  };
}

// Two passes. First the ESM bundle with code splitting (esbuild splits only ESM), into a scratch directory; then each
// file of it converted to CommonJS in dist/bundle, import() lowered to require(). CommonJS because Node 20 can keep V8's
// compiled code only for scripts (vm.Script cachedData; bin/kit.js), and because it skips the ESM loader's own start-up
// work. The chunks keep their names, so a command still loads only the chunks it needs.
const scratch = mkdtempSync(path.join(root, "dist/.bundle-esm-"));
try {
  await build({
    absWorkingDir: root,
    entryPoints: ["dist/cli/main.js"],
    bundle: true,
    splitting: true,
    platform: "node",
    format: "esm",
    target: "node20",
    outdir: scratch,
    // Named .cjs already, so the imports between chunks name the files the second pass writes.
    outExtension: { ".js": ".cjs" },
    chunkNames: "chunks/[name]-[hash]",
    minify: true,
    keepNames: true,
    // Read only with --debug (bin/kit.js enables source maps then), so stack traces name src/ files.
    sourcemap: true,
    logLevel: "warning",
    // import.meta means nothing in a CommonJS chunk: src/ uses it only where __KIT_VERSION__ makes it dead code.
    define: { __KIT_COMMIT__: JSON.stringify(gitCommit()), __KIT_VERSION__: JSON.stringify(packageVersion()), "import.meta.url": "undefined" },
    // Lazily: commander needs node:child_process only to run executable subcommands, which kit has none of, and
    // loading it (with net, dgram and streams) costs every command ~4 ms.
    // And kit's own modules load node:crypto (~4 ms) at the first digest or random name, not at start-up: kit validate
    // and kit --version never hash. (A name missing from the list fails the build.)
    plugins: [
      noHttp2ForUndici(),
      lazyBuiltin("child_process", /[\\/]node_modules[\\/]commander[\\/]/),
      lazyBuiltin("child_process", /[\\/]dist[\\/](oras|kit|cli)[\\/]/, ["execFile", "spawn"]),
      lazyBuiltin("crypto", /[\\/]dist[\\/](oras|kit|cli)[\\/]/, ["createHash", "createPrivateKey", "createPublicKey", "generateKeyPairSync", "randomBytes", "scrypt", "sign", "verify"]),
    ],
  });
  const files = readdirSync(scratch, { recursive: true }).filter((f) => f.endsWith(".cjs"));
  rmSync(path.join(root, "dist/bundle"), { recursive: true, force: true });
  await build({
    absWorkingDir: root,
    entryPoints: files.map((f) => path.join(scratch, f)),
    outbase: scratch,
    outdir: "dist/bundle",
    outExtension: { ".js": ".cjs" },
    bundle: false,
    platform: "node",
    format: "cjs",
    target: "node20",
    // import() of a chunk becomes a require() in a promise: a chunk is a script, loaded (and cached) as one.
    supported: { "dynamic-import": false },
    minify: true,
    keepNames: true,
    // The first pass's maps are read and carried through, so --debug still names src/ files.
    sourcemap: true,
    logLevel: "warning",
    // Anything else using import.meta (a dependency) would get an empty object: fail the build instead.
    logOverride: { "empty-import-meta": "error" },
  });
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
