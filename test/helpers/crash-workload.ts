// The writer workload of the crash test, run as its own process against a mount and killed with it.
//
//   node crash-workload.js <dir> <journal> <seed> <workers>
//
// Every worker owns the files of one folder `<dir>/w<n>/` and loops over random operations: create,
// overwrite in the middle, append, truncate (by path and by handle), O_TRUNC rewrite, write-fsync-
// write, rename (often over another file), unlink. An "orphan" worker keeps files open after
// unlinking them and goes on writing and reading them. Before any call that may publish (close,
// fsync, truncate, O_TRUNC open) the journal gets a `cand` record with the sha256 of the content the
// file will have if that publish lands; after close or fsync returns it gets a `dur` record (those
// bytes must survive the crash). Renames and unlinks are journaled before (`mv`, `rm`) and after
// (`mvd`, `rmd`). The journal lives outside the mount and is appended with one write(2) per line,
// so a SIGKILL at any point leaves every line that was written whole.
//
// The journal starts with the harness's `dur` records of the files present at the start; the
// workload reads them to know its files (and checks their bytes against them).

import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { mkdir, open, readFile, rename, truncate, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { seededRandom, sha256, type JournalRecord } from './crash-journal.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const NAMES_PER_WORKER = 7;

interface ModelFile {
  id: string;
  content: Buffer;
}

async function main(): Promise<void> {
  const [dir, journalPath, seedText, workersText] = process.argv.slice(2) as [string, string, string, string];
  const seed = Number(seedText);
  const workers = Number(workersText);
  const rand = seededRandom(seed);
  const int = (below: number) => Math.floor(rand() * below);
  const model = new Map<string, ModelFile>();
  for (const line of readFileSync(journalPath, 'utf8').split('\n')) {
    if (!line) continue;
    const record = JSON.parse(line) as JournalRecord;
    if (record.k !== 'dur') continue;
    const content = await readFile(join(dir, record.path));
    if (sha256(content) !== record.sha) throw new Error(`${record.path} does not hold the bytes the harness saw`);
    model.set(record.path, { id: record.id, content });
  }
  const journalFd = openSync(journalPath, 'a');
  const journal = (record: JournalRecord) => writeSync(journalFd, JSON.stringify(record) + '\n');
  let nextId = 0;
  const newId = () => `s${seed}-${nextId++}`;
  const cand = (kind: 'cand' | 'dur' | 'new', path: string, file: ModelFile) =>
    journal({ k: kind, id: file.id, path, sha: sha256(file.content), size: file.content.length });

  /** Sizes: mostly small, some spanning a few 4 MiB blocks (uploaded before the publish). */
  const size = (): number => {
    const r = rand();
    if (r < 0.55) return int(64 * KiB);
    if (r < 0.85) return int(3 * MiB);
    return 4 * MiB + int(5 * MiB);
  };

  /** The model after writing `data` at `offset` (a hole before it reads as zeros). */
  const written = (content: Buffer, offset: number, data: Buffer): Buffer => {
    const out = Buffer.alloc(Math.max(content.length, offset + data.length));
    content.copy(out);
    data.copy(out, offset);
    return out;
  };
  const resized = (content: Buffer, length: number): Buffer => {
    const out = Buffer.alloc(length);
    content.copy(out, 0, 0, Math.min(length, content.length));
    return out;
  };

  /** close, journaled: a candidate before (flush publishes), durable after. */
  const closeFile = async (handle: FileHandle, path: string, file: ModelFile) => {
    cand('cand', path, file);
    await handle.close();
    cand('dur', path, file);
  };
  const fsyncFile = async (handle: FileHandle, path: string, file: ModelFile) => {
    cand('cand', path, file);
    await handle.sync();
    cand('dur', path, file);
  };

  const worker = async (w: number) => {
    const folder = `w${w}`;
    await mkdir(join(dir, folder), { recursive: true });
    const mine = () => [...model.keys()].filter((path) => path.startsWith(folder + '/'));
    for (;;) {
      const files = mine();
      const free = Array.from({ length: NAMES_PER_WORKER }, (_, i) => `${folder}/f${i}`).filter((p) => !model.has(p));
      const op = files.length === 0 ? 0 : int(10);
      const path = files[int(files.length)]!;
      const file = model.get(path)!;
      switch (op) {
        case 0: {
          // create, write, maybe fsync, close
          if (free.length === 0) break;
          const target = free[int(free.length)]!;
          const created: ModelFile = { id: newId(), content: Buffer.alloc(0) };
          cand('new', target, created);
          const handle = await open(join(dir, target), 'wx');
          model.set(target, created);
          const data = randomBytes(size());
          await handle.write(data, 0, data.length, 0);
          created.content = data;
          if (rand() < 0.5) await fsyncFile(handle, target, created);
          await closeFile(handle, target, created);
          break;
        }
        case 1:
        case 2: {
          // overwrite in the middle (possibly past the end)
          const handle = await open(join(dir, path), 'r+');
          const offset = int(file.content.length + 1);
          const data = randomBytes(Math.max(1, int(rand() < 0.7 ? 256 * KiB : 6 * MiB)));
          await handle.write(data, 0, data.length, offset);
          file.content = written(file.content, offset, data);
          if (rand() < 0.3) await fsyncFile(handle, path, file);
          await closeFile(handle, path, file);
          break;
        }
        case 3: {
          // append
          const handle = await open(join(dir, path), 'a');
          const data = randomBytes(Math.max(1, size()));
          await handle.write(data);
          file.content = Buffer.concat([file.content, data]);
          if (rand() < 0.3) await fsyncFile(handle, path, file);
          await closeFile(handle, path, file);
          break;
        }
        case 4: {
          // truncate by path, shrinking or extending
          const length = rand() < 0.7 ? int(file.content.length + 1) : file.content.length + int(2 * MiB);
          const next: ModelFile = { id: file.id, content: resized(file.content, length) };
          cand('cand', path, next);
          await truncate(join(dir, path), length);
          file.content = next.content;
          break;
        }
        case 5: {
          // open with O_TRUNC and write a new body; or ftruncate an open handle then write
          if (rand() < 0.5) {
            cand('cand', path, { id: file.id, content: Buffer.alloc(0) });
            const handle = await open(join(dir, path), 'w');
            file.content = Buffer.alloc(0);
            const data = randomBytes(size());
            await handle.write(data, 0, data.length, 0);
            file.content = data;
            await closeFile(handle, path, file);
          } else {
            const handle = await open(join(dir, path), 'r+');
            const length = int(file.content.length + 1);
            const next: ModelFile = { id: file.id, content: resized(file.content, length) };
            cand('cand', path, next);
            await handle.truncate(length);
            file.content = next.content;
            const data = randomBytes(Math.max(1, int(512 * KiB)));
            await handle.write(data, 0, data.length, length);
            file.content = written(file.content, length, data);
            await closeFile(handle, path, file);
          }
          break;
        }
        case 6: {
          // write, fsync, write more, close: the fsynced bytes are the floor
          const handle = await open(join(dir, path), 'r+');
          const first = randomBytes(Math.max(1, size()));
          const at = int(file.content.length + 1);
          await handle.write(first, 0, first.length, at);
          file.content = written(file.content, at, first);
          await fsyncFile(handle, path, file);
          const second = randomBytes(Math.max(1, int(2 * MiB)));
          const at2 = int(file.content.length + 1);
          await handle.write(second, 0, second.length, at2);
          file.content = written(file.content, at2, second);
          await closeFile(handle, path, file);
          break;
        }
        case 7:
        case 8: {
          // rename, often over another file of this worker
          const names = Array.from({ length: NAMES_PER_WORKER }, (_, i) => `${folder}/f${i}`).filter((p) => p !== path);
          const to = names[int(names.length)]!;
          const victim = model.get(to);
          journal({ k: 'mv', id: file.id, from: path, to, ...(victim ? { victim: victim.id } : {}) });
          await rename(join(dir, path), join(dir, to));
          model.delete(path);
          model.set(to, file);
          journal({ k: 'mvd', id: file.id });
          break;
        }
        case 9: {
          if (files.length < 3) break;
          journal({ k: 'rm', id: file.id, path });
          await unlink(join(dir, path));
          model.delete(path);
          journal({ k: 'rmd', id: file.id });
          break;
        }
      }
    }
  };

  /** Files unlinked while open live until closed; a crash leaves them as orphans for the next mount. */
  const orphanWorker = async () => {
    const folder = 'orphans';
    await mkdir(join(dir, folder), { recursive: true });
    for (let n = 0; ; n++) {
      const path = `${folder}/o${seed}-${n}`;
      const file: ModelFile = { id: newId(), content: Buffer.alloc(0) };
      cand('new', path, file);
      const handle = await open(join(dir, path), 'w+');
      file.content = randomBytes(int(6 * MiB));
      await handle.write(file.content, 0, file.content.length, 0);
      await fsyncFile(handle, path, file);
      journal({ k: 'rm', id: file.id, path });
      await unlink(join(dir, path));
      journal({ k: 'rmd', id: file.id });
      // Still open: it stays readable and writable until closed, and a crash now leaves it as an
      // orphan for the next mount to retire. (fstat is left out: libfuse has no name to stat by.)
      const until = Date.now() + 1000 + int(2000);
      while (Date.now() < until) {
        const data = randomBytes(1 + int(256 * KiB));
        const at = int(file.content.length + 1);
        await handle.write(data, 0, data.length, at);
        file.content = written(file.content, at, data);
        const back = Buffer.alloc(file.content.length + 1);
        let filled = 0;
        for (let got = -1; got !== 0 && filled < back.length; filled += got) got = (await handle.read(back, filled, back.length - filled, filled)).bytesRead;
        if (filled !== file.content.length || !back.subarray(0, filled).equals(file.content)) throw new Error(`unlinked open file ${path} reads back wrong`);
        await new Promise((r) => setTimeout(r, 50));
      }
      await handle.close();
    }
  };

  await Promise.all([...Array.from({ length: workers }, (_, w) => worker(w)), orphanWorker()]);
  closeSync(journalFd);
}

main().catch((err: unknown) => {
  process.stderr.write(`crash workload failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
