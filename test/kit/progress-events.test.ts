/**
 * pushKit and pullKit tell a progress display what they transfer, in copy's
 * terms (the plan first, then start / bytes / done per node), and know
 * nothing of terminals.
 */
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { pullKit } from "../../src/kit/pull.js";
import { pushKit } from "../../src/kit/push.js";
import type { CopyPlan, CopyProgressEvent } from "../../src/oras/copy/index.js";

const IMAGE = `ghcr.io/kit/base:latest@sha256:${"b".repeat(64)}`;

async function kitDir(work: string): Promise<string> {
  const dir = path.join(work, "kit");
  await mkdir(dir);
  await writeFile(path.join(dir, "kit.yaml"), `name: famiglia\nversion: "1.0.0"\nimage: ${IMAGE}\n`);
  await writeFile(path.join(dir, "README.md"), "# famiglia\n");
  return dir;
}

function listener(): { plans: CopyPlan[]; events: CopyProgressEvent[]; onPlan: (p: CopyPlan) => void; onProgress: (e: CopyProgressEvent) => void } {
  const plans: CopyPlan[] = [];
  const events: CopyProgressEvent[] = [];
  return { plans, events, onPlan: (p) => plans.push(p), onProgress: (e) => events.push(e) };
}

describe("progress events from push and pull", () => {
  it("push into a layout plans config, kit.yaml, README.md and the manifest, and reports each", async () => {
    const work = await mkdtemp(path.join(tmpdir(), "kit-progress-events-"));
    const heard = listener();
    const pushed = await pushKit(`oci:${path.join(work, "layout")}:1.0.0`, await kitDir(work), { confirmPinnedImage: false, store: false, ...heard });
    expect(heard.plans).toHaveLength(1);
    const plan = heard.plans[0]!;
    expect(plan.root.digest).toBe(pushed.digest);
    expect(plan.nodes.map((n) => n.action)).toEqual(["upload", "upload", "upload", "upload"]);
    const done = heard.events.filter((e) => e.type === "done").map((e) => (e.type === "done" ? e.node.descriptor.digest : ""));
    expect(new Set(done)).toEqual(new Set(plan.nodes.map((n) => n.descriptor.digest)));
  });

  it("pull plans the kit's three blobs (the manifest is in hand), then starts and finishes each", async () => {
    const work = await mkdtemp(path.join(tmpdir(), "kit-progress-events-"));
    const layout = path.join(work, "layout");
    const pushed = await pushKit(`oci:${layout}:1.0.0`, await kitDir(work), { confirmPinnedImage: false, store: false });
    const heard = listener();
    const pulled = await pullKit(`oci:${layout}:1.0.0`, { store: path.join(work, "store"), ...heard });
    expect(pulled.digest).toBe(pushed.digest);
    expect(heard.plans).toHaveLength(1);
    const plan = heard.plans[0]!;
    expect(plan.nodes.map((n) => [n.kind, n.action])).toEqual([
      ["blob", "upload"],
      ["blob", "upload"],
      ["blob", "upload"],
      ["manifest", "skip"],
    ]);
    expect(plan.root.digest).toBe(pushed.digest);
    expect(plan.bytesToTransfer).toBe(plan.nodes.slice(0, 3).reduce((sum, n) => sum + n.descriptor.size, 0));
    for (const node of plan.nodes.slice(0, 3)) {
      const mine = heard.events.filter((e) => e.type !== "tag" && e.node === node).map((e) => e.type);
      expect(mine).toEqual(["start", "done"]);
    }
  });
});
