/**
 * Node-local staging of uploads: a PATCH's bytes go to a file on this
 * node's disk (fdatasync'ed before the offset is acknowledged), and reach the
 * shared chunk table behind it (store.ts). The directory has an id of its
 * own (a file in it, kept across restarts), so an upload row names the
 * directory and file holding its bytes past `stored_offset`:
 * `staged_on = "<dir id>:<file>"`, the file `<media id>.<random>`.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { type FileHandle, open, rm, stat } from "node:fs/promises";
import { join } from "node:path";

export class Staging {
  readonly id: string;

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    const idFile = join(dir, "staging-id");
    let id: string;
    try {
      id = readFileSync(idFile, "utf8").trim();
    } catch {
      id = randomUUID();
      writeFileSync(idFile, id);
    }
    this.id = id;
  }

  /** A new `staged_on` for an upload. */
  newName(mediaId: bigint): string {
    return `${this.id}:${mediaId}.${randomBytes(6).toString("hex")}`;
  }

  /** Is `stagedOn` a file of this directory? */
  owns(stagedOn: string): boolean {
    return stagedOn.startsWith(`${this.id}:`);
  }

  pathOf(stagedOn: string): string {
    return join(this.dir, stagedOn.slice(this.id.length + 1));
  }

  /** The file's size, or undefined when it is not there. */
  async size(stagedOn: string): Promise<number | undefined> {
    try {
      return (await stat(this.pathOf(stagedOn))).size;
    } catch {
      return undefined;
    }
  }

  async mtimeMs(stagedOn: string): Promise<number> {
    try {
      return (await stat(this.pathOf(stagedOn))).mtimeMs;
    } catch {
      return 0;
    }
  }

  /** Opens (creating) the file for reading and writing at positions. */
  open(stagedOn: string): Promise<FileHandle> {
    return open(this.pathOf(stagedOn), "a+").then(async (fh) => {
      // "a+" appends whatever the position; reopen read-write now that it exists.
      await fh.close();
      return open(this.pathOf(stagedOn), "r+");
    });
  }

  async read(stagedOn: string, start: number, length: number): Promise<Buffer> {
    const fh = await open(this.pathOf(stagedOn), "r");
    try {
      const buf = Buffer.allocUnsafe(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await fh.read(buf, got, length - got, start + got);
        if (bytesRead === 0)
          throw new Error(`staged upload ${stagedOn}: ${length - got} bytes missing at ${start + got}`);
        got += bytesRead;
      }
      return buf;
    } finally {
      await fh.close();
    }
  }

  drop(stagedOn: string): Promise<void> {
    return rm(this.pathOf(stagedOn), { force: true });
  }

  /** The `staged_on` names of the files here (for the restart's recovery). */
  list(): string[] {
    return readdirSync(this.dir)
      .filter((f) => /^\d+\.[0-9a-f]+$/.test(f))
      .map((f) => `${this.id}:${f}`);
  }
}
