#!/usr/bin/env node
// Throughput of `put`/`get` of one file through the library (no FUSE), on the file backend and on
// s3rver, beside `cp` of the same file on the same disk, all in one run. Needs `npm run build`.
//   node scripts/bench-transfer.mjs [--size-mib 1024]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Volume } from '../dist/src/volume.js';
import { getFile, putFile } from '../dist/src/io/transfer.js';
import { startS3rver } from '../dist/test/helpers/s3rver.js';

const sizeMiB = Number(process.argv[process.argv.indexOf('--size-mib') + 1] || 1024) || 1024;
const work = mkdtempSync(join(tmpdir(), 'strata-bench-'));
const source = join(work, 'source.bin');
const dropCaches = () => {
  try { execFileSync('sh', ['-c', 'sync; echo 3 > /proc/sys/vm/drop_caches']); } catch { /* not root: warm-cache figures */ }
};
const rate = (ms) => ((sizeMiB * 1.048576) / (ms / 1000)).toFixed(0);
const time = async (work) => { const start = performance.now(); await work(); return performance.now() - start; };

execFileSync('dd', ['if=/dev/urandom', `of=${source}`, 'bs=1M', `count=${sizeMiB}`, 'status=none']);
const rows = [];
dropCaches();
const cpMs = await time(async () => execFileSync('sh', ['-c', `cp ${source} ${join(work, 'copy.bin')} && sync`]));
rows.push(['cp (same disk, + sync)', rate(cpMs), rate(cpMs)]);
rmSync(join(work, 'copy.bin'));

const s3 = await startS3rver();
for (const [label, objectStore] of [
  ['strata file backend', undefined],
  ['strata on s3rver', { backend: 's3', bucket: s3.bucket, endpoint: s3.endpoint, forcePathStyle: true, credentials: s3.credentials }],
]) {
  const home = join(work, label.replace(/\W+/g, '-'));
  const volume = await Volume.open({ home, volume: 'bench', objectStore, cacheBytes: 64 * 1024 * 1024 });
  dropCaches();
  const putMs = await time(() => putFile(volume, source, '/bench.bin', { uid: 0, gid: 0 }));
  await volume.close();
  const reopened = await Volume.open({ home, volume: 'bench', objectStore, cacheBytes: 64 * 1024 * 1024 });
  dropCaches();
  const getMs = await time(() => getFile(reopened, '/bench.bin', join(work, 'out.bin')));
  await reopened.close();
  execFileSync('cmp', [source, join(work, 'out.bin')]);
  rmSync(join(work, 'out.bin'));
  rows.push([label, rate(putMs), rate(getMs)]);
}
await s3.stop();
rmSync(work, { recursive: true, force: true });
console.log(`${sizeMiB} MiB, MB/s (cold caches where root can drop them)`);
console.log('what'.padEnd(26), 'put/write'.padStart(10), 'get/read'.padStart(10), 'put vs cp'.padStart(10));
for (const [what, put, get] of rows) console.log(what.padEnd(26), String(put).padStart(10), String(get).padStart(10), (Number(put) / Number(rows[0][1])).toFixed(2).padStart(10));
