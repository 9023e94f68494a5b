#!/usr/bin/env node
// The GC figures of issue 4: 100 files, a pin, then 1,000 overwrites (10 per file); counts objects
// in the store, GC queue records and history records before GC, after GC with the pin, and after
// the pin is retired. Needs `npm run build`.   node scripts/gc-workload.mjs
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runGc } from '../dist/src/gc/run.js';
import { fsck } from '../dist/src/gc/fsck.js';
import { keys } from '../dist/src/meta/keys.js';
import { ROOT_INO } from '../dist/src/meta/records.js';
import { pinSnapshot, retireSnapshot } from '../dist/src/snapshot/pins.js';
import { Volume } from '../dist/src/volume.js';

const home = mkdtempSync(join(tmpdir(), 'strata-gc-workload-'));
const volume = await Volume.open({ home, volume: 'gc' });
const root = { uid: 0, gid: 0 };

async function overwrite(name, bytes) {
  const existing = await volume.namespace.lookup(ROOT_INO, name).catch(() => undefined);
  const ino = existing?.ino ?? (await volume.namespace.create(ROOT_INO, name, 0o644, root)).ino;
  const body = await volume.files.acquire(ino);
  await body.truncate(0);
  body.write(0, bytes);
  await volume.files.release(ino);
}

async function counts(label) {
  let objects = 0;
  for await (const _ of volume.store.list('blocks/')) objects++;
  const [qs, qe] = keys.spaceRange('Q');
  const queued = (await volume.kv.scan(qs, qe)).length;
  const history = (await volume.kv.raw.range(Buffer.from('h'), Buffer.from('i'))).length;
  const clean = (await fsck(volume)).clean;
  console.log(`${label.padEnd(34)} objects ${String(objects).padStart(5)}  queued ${String(queued).padStart(5)}  history records ${String(history).padStart(5)}  fsck ${clean ? 'clean' : 'NOT clean'}`);
}

for (let f = 0; f < 100; f++) await overwrite(`file-${f}`, randomBytes(64 * 1024));
await pinSnapshot(volume, 'before');
for (let round = 0; round < 10; round++) for (let f = 0; f < 100; f++) await overwrite(`file-${f}`, randomBytes(64 * 1024));
await counts('after 1,000 overwrites, pinned');
await runGc(volume, { graceMs: 0 });
await counts('after gc --grace 0, still pinned');
await retireSnapshot(volume, 'before');
await runGc(volume, { graceMs: 0 });
await counts('after retire + gc --grace 0');
await volume.close();
rmSync(home, { recursive: true, force: true });
