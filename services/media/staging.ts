/**
 * Node-local staging of uploads: a PATCH's bytes go to a file on this
 * node's disk (fdatasync'ed before the offset is acknowledged), and reach the
 * shared chunk table behind it (store.ts). The directory has an id of its
 * own (a file in it, kept across restarts), so an upload row names the
 * directory and file holding its bytes past `stored_offset`:
 * `staged_on = "<dir id>:<file>"`, the file `<media id>.<random>`.
 *
 * One process at a time stages in a directory: the configured directory is
 * slot 0, `slot-1`, `slot-2`, … beside its files are the others, each held
 * through a lock file naming the holder's pid (a lock whose process is gone
 * is taken over). The workers of `--workers N`, and bundles of one host that
 * share the default directory, so never write one upload's file at once; a
 * PATCH reaching a process that does not hold the upload's directory takes
 * it over from the chunk table (store.ts, claim). A process that restarts
 * takes the lowest free slot again, and with it its files.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { type FileHandle, open, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { pidAlive } from "../../platform/pid.js";

const LOCK_FILE = "staging.lock";

/** Takes `dir`'s lock for this process: false when a live process holds it. */
function lock(dir: string): boolean {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: "wx" });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    let holder = Number.NaN;
    try {
      holder = Number(readFileSync(file, "utf8").trim());
    } catch {
      continue; // removed meanwhile: try again
    }
    if (holder === process.pid) return false; // another Staging of this process holds it
    if (Number.isInteger(holder) && holder > 0 && pidAlive(holder)) return false;
    // Its process is gone (or the file is garbage): remove it and race for it like everyone else.
    rmSync(file, { force: true });
  }
  return false;
}

/** The lowest slot of `base` free for this process, locked: base itself, then base/slot-1, … */
function takeSlot(base: string): string {
  for (let slot = 0; slot < 1024; slot++) {
    const dir = slot === 0 ? base : join(base, `slot-${slot}`);
    if (lock(dir)) return dir;
  }
  throw new Error(`no free staging slot under ${base} (1,024 held by running processes)`);
}

export class Staging {
  readonly id: string;
  /** The directory this process holds (the configured one, or one of its slots). */
  readonly dir: string;
  private released = false;

  constructor(base: string) {
    const dir = (this.dir = takeSlot(base));
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

  /** Lets another process take this directory (the bundle stops). */
  release(): void {
    if (this.released) return;
    this.released = true;
    try {
      if (readFileSync(join(this.dir, LOCK_FILE), "utf8").trim() === String(process.pid)) {
        rmSync(join(this.dir, LOCK_FILE), { force: true });
      }
    } catch {
      // gone already
    }
  }

  /** The `staged_on` names of the files here (for the restart's recovery). */
  list(): string[] {
    return readdirSync(this.dir)
      .filter((f) => /^\d+\.[0-9a-f]+$/.test(f))
      .map((f) => `${this.id}:${f}`);
  }
}
