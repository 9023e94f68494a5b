import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startMount, type TestMount } from '../helpers/mount.js';

const test = suite('mount basics');
let m: TestMount;

test.before(async () => {
  m = await startMount();
});
test.after(async () => {
  await m.cleanup();
});

test('a file written through the mount reads back and survives a remount', async () => {
  await m.sh(`printf 'hello strata' > ${m.mountpoint}/greeting && mkdir ${m.mountpoint}/dir && head -c 9000000 /dev/urandom > ${m.mountpoint}/dir/random`);
  const before = await m.sh(`cat ${m.mountpoint}/greeting; sha256sum < ${m.mountpoint}/dir/random`);
  await m.unmount();
  await m.remount();
  const after = await m.sh(`cat ${m.mountpoint}/greeting; sha256sum < ${m.mountpoint}/dir/random`);
  assert.match(before.stdout, /^hello strata/);
  assert.is(after.stdout, before.stdout);
});

test('the root listing hides .snapshots and .stats but both are reachable by path', async () => {
  const listing = await m.sh(`ls -a ${m.mountpoint}`);
  assert.not.match(listing.stdout, /\.snapshots|\.stats/);
  const stats = await m.sh(`cat ${m.mountpoint}/.stats`);
  assert.match(stats.stdout, /^# TYPE strata_fuse_op_duration_seconds histogram$/m);
  await m.sh(`ls ${m.mountpoint}/.snapshots`);
});

test.run();
