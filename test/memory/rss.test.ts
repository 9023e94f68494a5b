// Bounded memory: writing a 10 GiB file through a mount keeps the mount process's resident set
// under 512 MiB (dirty buffers are capped with back-pressure; uploaded blocks go back to a pool).
// STRATA_RSS_GIB sets a smaller size for a quick run by hand.

import { readFile } from 'node:fs/promises';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startMount } from '../helpers/mount.js';

const GIB = Number(process.env.STRATA_RSS_GIB ?? 10);
const RSS_LIMIT_KIB = 512 * 1024;

async function rssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN);
}

const memory = suite('bounded memory');

memory(`writing a ${GIB} GiB file keeps the mount's RSS under 512 MiB`, async () => {
  const m = await startMount();
  try {
    const pid = m.pid()!;
    const samples: number[] = [await rssKiB(pid)];
    const sampler = setInterval(() => void rssKiB(pid).then((kib) => samples.push(kib), () => undefined), 250);
    const startedMs = Date.now();
    try {
      await m.sh(`dd if=/dev/zero of=${m.mountpoint}/big bs=1M count=${GIB * 1024} conv=fsync status=none`);
    } finally {
      clearInterval(sampler);
    }
    const seconds = (Date.now() - startedMs) / 1000;
    const peakKiB = Math.max(...samples);
    process.stdout.write(`\n${GIB} GiB in ${seconds.toFixed(1)} s; mount RSS: start ${Math.round(samples[0]! / 1024)} MiB, peak ${Math.round(peakKiB / 1024)} MiB over ${samples.length} samples\n`);
    assert.ok(samples.length > 10, 'RSS was sampled through the write');
    assert.ok(peakKiB < RSS_LIMIT_KIB, `peak RSS ${Math.round(peakKiB / 1024)} MiB`);
    const { stdout } = await m.sh(`stat -c %s ${m.mountpoint}/big && tail -c 1048576 ${m.mountpoint}/big | tr -d '\\0' | wc -c`);
    assert.equal(stdout.trim().split('\n'), [String(GIB * 1024 ** 3), '0'], 'the whole file is there and its tail reads as zeros');
  } finally {
    await m.cleanup();
  }
});

memory.run();
