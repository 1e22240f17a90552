/**
 * The asynchronous file system calls kit makes, as promises over node:fs's
 * callback API, and a small file handle over a descriptor. node:fs/promises
 * is not used because loading it (its FileHandle class, line readers,
 * watchers) costs ~1.7 ms of every start, most of it for code kit never calls.
 * Errors are node:fs's own (code, syscall, path), as fs/promises gives them.
 */
import * as fs from "node:fs";
import type { BigIntStats, Dir, MakeDirectoryOptions, OpenDirOptions, ReadStream, RmOptions, Stats } from "node:fs";

type Callback<T> = (err: NodeJS.ErrnoException | null, value: T) => void;

function call<T>(start: (done: Callback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => start((err, value) => (err ? reject(err) : resolve(value))));
}

/** For the calls whose callback gives only an error. */
function act(start: (done: (err: NodeJS.ErrnoException | null) => void) => void): Promise<void> {
  return call<void>((done) => start((err) => done(err, undefined)));
}

export const stat = (path: string): Promise<Stats> => call((done) => fs.stat(path, done));
/** With nanosecond times, which tell two writes within one millisecond apart. */
export const statBigInt = (path: string): Promise<BigIntStats> => call((done) => fs.stat(path, { bigint: true }, done));
export const lstat = (path: string): Promise<Stats> => call((done) => fs.lstat(path, done));
export const mkdir = (path: string, opts: MakeDirectoryOptions = {}): Promise<string | undefined> => call((done) => fs.mkdir(path, opts, done));
export const rm = (path: string, opts: RmOptions = {}): Promise<void> => act((done) => fs.rm(path, opts, done));
export const rename = (from: string, to: string): Promise<void> => act((done) => fs.rename(from, to, done));
export const link = (existing: string, path: string): Promise<void> => act((done) => fs.link(existing, path, done));
export const readdir = (path: string): Promise<string[]> => call((done) => fs.readdir(path, done));
export const realpath = (path: string): Promise<string> => call((done) => fs.realpath(path, done));
export const access = (path: string, mode?: number): Promise<void> => act((done) => fs.access(path, mode, done));
export const opendir = (path: string, opts: OpenDirOptions = {}): Promise<Dir> => call((done) => fs.opendir(path, opts, done));

/** An open file: the part of fs/promises' FileHandle kit uses. Close it (a stream made from it closes it itself). */
export class FileHandle {
  private closed = false;

  constructor(readonly fd: number) {}

  stat(): Promise<Stats> {
    return call((done) => fs.fstat(this.fd, done));
  }

  /** Reads into `buffer` at `offset`; position null reads on from the file's current offset. */
  async read(buffer: Uint8Array, offset: number, length: number, position: number | null): Promise<{ bytesRead: number }> {
    const bytesRead = await call<number>((done) => fs.read(this.fd, buffer, offset, length, position, done));
    return { bytesRead };
  }

  /** All of `data`, from the current offset (a short write is continued, as fs/promises does). */
  async writeFile(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? Buffer.from(data) : data;
    let written = 0;
    while (written < bytes.byteLength) {
      written += await call<number>((done) => fs.write(this.fd, bytes, written, bytes.byteLength - written, null, done));
    }
  }

  sync(): Promise<void> {
    return act((done) => fs.fsync(this.fd, done));
  }

  /** Closes the descriptor once; later calls do nothing. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return act((done) => fs.close(this.fd, done));
  }

  /** A stream of the file from its current offset, which owns the descriptor from now on and closes it. */
  createReadStream(opts: { highWaterMark?: number } = {}): ReadStream {
    this.closed = true;
    return fs.createReadStream("", { ...opts, fd: this.fd, autoClose: true });
  }
}

export async function open(path: string, flags: string | number, mode?: number): Promise<FileHandle> {
  return new FileHandle(await call<number>((done) => fs.open(path, flags, mode, done)));
}
