#!/usr/bin/env node
// Benchmark: OCI layout index.json cost as the number of entries grows.
// Build first: npx tsc -p tsconfig.json   then: node test/bench/layout-index.mjs [entries=10000]
import { createHash } from "node:crypto";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OciLayout } from "../../dist/oras/layout/store.js";

const N = Number(process.argv[2] ?? 10_000);
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const now = () => process.hrtime.bigint();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function freshLayout(work, name) {
  const layout = await OciLayout.open(join(work, name), { create: true });
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [] }));
  const desc = {
    mediaType: "application/vnd.oci.image.index.v1+json",
    digest: `sha256:${createHash("sha256").update(bytes).digest("hex")}`,
    size: bytes.length,
  };
  await layout.push(desc, bytes);
  return { layout, desc, dir: join(work, name) };
}

const work = await mkdtemp(join(tmpdir(), "layout-bench-"));
const rows = [];
try {
  {
    const { layout, desc } = await freshLayout(work, "batch");
    const t0 = now();
    await layout.batch(async () => {
      for (let i = 0; i < N; i++) await layout.tag(desc, `tag-${i}`);
    });
    rows.push([`tag ${N} refs, sequential awaits inside batch()`, `${ms(t0).toFixed(0)} ms`]);
  }
  {
    const { layout, desc } = await freshLayout(work, "concurrent");
    const t0 = now();
    await Promise.all(Array.from({ length: N }, (_, i) => layout.tag(desc, `tag-${i}`)));
    rows.push([`tag ${N} refs, all at once (group commit, no batch)`, `${ms(t0).toFixed(0)} ms`]);
  }
  {
    const { layout, desc, dir } = await freshLayout(work, "big");
    await layout.batch(async () => {
      for (let i = 0; i < N; i++) await layout.tag(desc, `tag-${i}`);
    });
    const size = (await stat(join(dir, "index.json"))).size;
    rows.push([`index.json with ${N} entries`, `${(size / 1024 / 1024).toFixed(2)} MiB`]);

    const open = [];
    const first = [];
    for (let r = 0; r < 5; r++) {
      let t0 = now();
      const other = await OciLayout.open(dir);
      open.push(ms(t0));
      t0 = now();
      await other.tag(desc, `fresh-${r}`);
      first.push(ms(t0));
    }
    rows.push([`open a ${N}-entry layout (median of 5)`, `${median(open).toFixed(1)} ms`]);
    rows.push([`one tag() just after open, durable (median of 5)`, `${median(first).toFixed(1)} ms`]);

    const one = [];
    for (let r = 0; r < 20; r++) {
      const t0 = now();
      await layout.tag(desc, `single-${r}`);
      one.push(ms(t0));
    }
    rows.push([`one more tag() into ${N} entries, already open, durable (median of 20)`, `${median(one).toFixed(1)} ms`]);

    const t0 = now();
    for (let i = 0; i < N; i++) await layout.resolve(`tag-${i}`);
    rows.push([`resolve ${N} tags one by one`, `${ms(t0).toFixed(0)} ms`]);
  }
  {
    const M = Math.min(N, 1000);
    const { layout, desc } = await freshLayout(work, "sequential");
    const t0 = now();
    for (let i = 0; i < M; i++) await layout.tag(desc, `tag-${i}`);
    const total = ms(t0);
    rows.push([`tag ${M} refs, sequential awaits, each durable (no batch)`, `${total.toFixed(0)} ms (${(total / M).toFixed(2)} ms/tag)`]);
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
const width = Math.max(...rows.map(([k]) => k.length));
console.log(`OCI layout index benchmark (node ${process.version}, ${N} entries)`);
for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`);
