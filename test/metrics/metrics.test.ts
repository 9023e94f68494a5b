// Prometheus metrics of a live mount: the op histograms and byte counters after file operations
// through FUSE, served the same three ways (control socket, --metrics-port, <mount>/.stats).

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startMount, type TestMount } from '../helpers/mount.js';

const test = suite('metrics');
let m: TestMount;

test.before(async () => {
  m = await startMount({ args: ['--metrics-port', '0'] });
});
test.after(async () => {
  await m?.cleanup();
});

/** The value of one sample line, `name{labels} value`, or undefined when absent. */
function sample(text: string, name: string, labels = ''): number | undefined {
  const prefix = labels ? `${name}{${labels}} ` : `${name} `;
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  return line === undefined ? undefined : Number(line.slice(prefix.length));
}

const FILE_BYTES = 6_000_000;

test('file operations through the mount show up in the op latency histograms and byte counters', async () => {
  const mp = m.mountpoint;
  await m.sh(`head -c ${FILE_BYTES} /dev/urandom > ${mp}/f && mkdir ${mp}/d && ls ${mp}/d && cat ${mp}/f > /dev/null && stat ${mp}/f > /dev/null && cat ${mp}/missing 2>/dev/null || true`);
  const text = (await m.strata(['status', '--metrics'])).stdout;
  assert.match(text, /# TYPE strata_fuse_op_duration_seconds histogram/);
  for (const op of ['create', 'write', 'flush', 'release', 'open', 'read', 'getattr', 'mkdir', 'readdir']) {
    assert.ok((sample(text, 'strata_fuse_op_duration_seconds_count', `op="${op}"`) ?? 0) > 0, `no ${op} in the histogram:\n${text.slice(0, 3000)}`);
    assert.ok(sample(text, 'strata_fuse_op_duration_seconds_bucket', `le="+Inf",op="${op}"`) !== undefined, `no +Inf bucket for ${op}`);
  }
  assert.ok((sample(text, 'strata_fuse_op_errors_total', 'op="getattr",errno="ENOENT"') ?? 0) >= 1, 'the failed lookup of /missing is counted as ENOENT');
  assert.ok(sample(text, 'strata_fuse_written_bytes_total')! >= FILE_BYTES, 'written bytes');
  assert.ok(sample(text, 'strata_fuse_read_bytes_total')! >= FILE_BYTES, 'read bytes');
  assert.ok((sample(text, 'strata_object_request_duration_seconds_count', 'op="put"') ?? 0) >= 2, 'two block PUTs at least');
  assert.ok(sample(text, 'strata_object_bytes_total', 'op="put"')! >= FILE_BYTES, 'bytes PUT');
  assert.ok(sample(text, 'strata_publishes_total')! >= 1, 'the close published');
  assert.ok(sample(text, 'strata_metadata_write_duration_seconds_count')! >= 1, 'metadata writes');
  for (const name of ['strata_block_cache_hits_total', 'strata_block_cache_misses_total', 'strata_block_cache_evictions_total', 'strata_block_cache_bytes', 'strata_uploads_in_flight', 'strata_dirty_bytes', 'strata_dirty_limit_bytes', 'strata_gc_queue_objects', 'strata_gc_reclaimed_objects_total', 'strata_history_records', 'strata_pins', 'strata_compactions_total', 'strata_mount_uptime_seconds']) {
    assert.ok(sample(text, name) !== undefined, `${name} missing`);
  }
  assert.match(text, /strata_volume_info\{volume="default",backend="file:[^"]+"\} 1/);
});

test('--metrics-port serves the metrics on 127.0.0.1 at /metrics and nothing else', async () => {
  const status = JSON.parse((await m.strata(['status', '--json'])).stdout) as { metricsUrl: string };
  assert.match(status.metricsUrl, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
  const response = await fetch(status.metricsUrl);
  assert.is(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
  const text = await response.text();
  assert.ok((sample(text, 'strata_fuse_op_duration_seconds_count', 'op="getattr"') ?? 0) > 0);
  assert.ok(sample(text, 'process_cpu_user_seconds_total') !== undefined, "Node's process metrics");
  assert.is((await fetch(status.metricsUrl.replace(/\/metrics$/, '/'))).status, 404);
});

test('.stats is readable by path, holds the metrics text, and is not listed', async () => {
  const mp = m.mountpoint;
  const listing = await m.sh(`ls -a ${mp}; find ${mp}`);
  assert.not.match(listing.stdout, /\.stats/);
  const stats = (await m.sh(`cat ${mp}/.stats`)).stdout;
  assert.match(stats, /# TYPE strata_fuse_op_duration_seconds histogram/);
  assert.match(stats, /strata_fuse_op_duration_seconds_count\{op="read"\} \d+/);
  const lastLine = stats.trimEnd().split('\n').pop()!;
  // A family with no samples yet (the GC histogram before the first GC) ends in its TYPE line.
  assert.ok(stats.endsWith('\n') && /^(\S+ \S+|# TYPE \S+ (counter|gauge|histogram|summary))$/.test(lastLine), `the text ends with a whole line, not ${JSON.stringify(lastLine)}`);
  const write = await m.sh(`echo x > ${mp}/.stats`, { allowFailure: true });
  assert.is.not(write.code, 0, '.stats is read-only');
});

test.run();
