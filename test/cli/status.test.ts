// strata status: every field of --json, on a volume alone and through a live mount, and the
// human-readable form.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { strata } from '../helpers/cli.js';
import { startMount } from '../helpers/mount.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';

const test = suite('strata status');

const FIELDS = [
  'volume', 'backend', 'home', 'mounted', 'mountpoint', 'pid', 'uptimeSeconds', 'logFile', 'metricsUrl',
  'metadataVersion', 'metadataBytes', 'objects', 'objectBytes', 'inodes', 'files', 'directories', 'fileBytes',
  'pins', 'gcQueue', 'staged', 'historyRecords', 'cache', 'uploadsInFlight', 'dirtyBytes', 'dirtyLimitBytes', 'writebackPending',
].sort();

test('status --json on a volume with no mount reports every field with its sizes and counts', async () => {
  const home = await makeTempDir('status');
  try {
    const local = join(home, 'five-mb');
    await writeFile(local, Buffer.alloc(5 * 1024 * 1024, 7));
    await strata(['put', local, '/five-mb', '--home', home]);
    await strata(['snapshot', 'pin', 'first', '--home', home]);
    await strata(['put', local, '/five-mb', '--home', home]);
    const report = JSON.parse((await strata(['status', '--json', '--home', home])).stdout) as Record<string, unknown>;
    assert.equal(Object.keys(report).sort(), FIELDS);
    assert.is(report.volume, 'default');
    assert.match(report.backend as string, /^file:/);
    assert.is(report.mounted, false);
    assert.is(report.mountpoint, null);
    assert.is(report.uptimeSeconds, null);
    assert.is(report.files, 1);
    assert.is(report.directories, 1);
    assert.is(report.fileBytes, 5 * 1024 * 1024);
    assert.is(report.pins, 1);
    assert.ok((report.metadataBytes as number) > 0, 'the RocksDB folder takes room on disk');
    assert.ok((report.objects as number) >= 2, 'two blocks, at least');
    assert.ok((report.objectBytes as number) >= 5 * 1024 * 1024);
    assert.ok((report.gcQueue as number) >= 2, "the pin keeps the first put's blocks queued");
    assert.ok((report.historyRecords as number) > 0, 'the pin keeps history');
    assert.equal(Object.keys(report.cache as object).sort(), ['bytes', 'evictions', 'hitRate', 'hits', 'misses']);
    assert.is(report.uploadsInFlight, 0);
    assert.is(report.dirtyBytes, 0);
    assert.is(report.dirtyLimitBytes, 256 * 1024 * 1024, 'the default dirty cap');
    assert.is(report.writebackPending, 0);
    const metrics = (await strata(['status', '--metrics', '--home', home])).stdout;
    assert.match(metrics, /^strata_volume_info\{volume="default",backend="file:[^"]+"\} 1$/m, 'with no mount, the metrics describe the volume opened for them');
    assert.match(metrics, /^strata_pins 1$/m);
  } finally {
    await removeDir(home);
  }
});

test('status through a live mount names the mount, its pid and uptime, its dirty cap, and reads its cache', async () => {
  const m = await startMount({ args: ['--max-dirty', '64M'] });
  try {
    await m.sh(`head -c 3000000 /dev/urandom > ${m.mountpoint}/f && cat ${m.mountpoint}/f > /dev/null`);
    const report = JSON.parse((await m.strata(['status', '--json'])).stdout) as Record<string, any>;
    assert.equal(Object.keys(report).sort(), FIELDS);
    assert.is(report.mounted, true);
    assert.is(report.mountpoint, m.mountpoint);
    assert.type(report.pid, 'number');
    assert.ok(report.uptimeSeconds >= 0);
    assert.is(report.logFile, null, 'a --foreground mount logs to its stderr');
    assert.is(report.metricsUrl, null);
    assert.is(report.files, 1);
    assert.ok(report.cache.hits + report.cache.misses > 0, 'the read went through the block cache');
    assert.type(report.cache.hitRate, 'number');
    assert.is(report.dirtyLimitBytes, 64 * 1024 * 1024, '--max-dirty 64M');
    const text = (await m.strata(['status'])).stdout;
    for (const label of ['volume', 'backend', 'mount', 'log', 'metadata', 'objects', 'files', 'pins', 'gc queue', 'cache', 'uploads']) {
      assert.match(text, new RegExp(`^${label} +\\S`, 'm'), `no "${label}" line in:\n${text}`);
    }
    assert.match(text, new RegExp(`^mount +${m.mountpoint} \\(pid \\d+, up \\d+s\\)$`, 'm'));
    assert.match(text, /^cache +hit rate \d+\.\d%/m);
    assert.match(text, /^uploads +0 in flight, 0 B dirty \(limit 64\.0 MiB\)/m);
  } finally {
    await m.cleanup();
  }
});

test('status --json and --metrics together are a usage error', async () => {
  const ran = await strata(['status', '--json', '--metrics'], { allowFailure: true });
  assert.is(ran.code, 2);
  assert.match(ran.stderr, /pick one/);
});

test.run();
