/** Every file under a directory with its size and mtime, sorted: what "the directory did not change" compares. */
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";

export async function treeSnapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (at: string): Promise<void> => {
    for (const entry of await readdir(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) {
        out.push(`${path}/`);
        await walk(path);
      } else {
        const st = await lstat(path);
        out.push(`${path} ${st.size} ${st.mtimeMs}`);
      }
    }
  };
  await walk(dir);
  return out.sort();
}
