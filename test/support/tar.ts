/** Hand-made tar archives (node-tar's Header for each block), to feed bundle readers what no honest writer would. */
import { Header } from "tar";

export interface TarTestEntry {
  name: string;
  data?: Buffer;
  type?: "File" | "SymbolicLink" | "Link" | "Directory" | "CharacterDevice" | "FIFO";
  linkpath?: string;
}

export function tarOf(entries: readonly TarTestEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = e.data ?? Buffer.alloc(0);
    const block = Buffer.alloc(512);
    new Header({ path: e.name, mode: 0o644, size: data.length, type: e.type ?? "File", mtime: new Date(0), ...(e.linkpath ? { linkpath: e.linkpath } : {}) }).encode(block);
    parts.push(block, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  return Buffer.concat([...parts, Buffer.alloc(1024)]);
}
