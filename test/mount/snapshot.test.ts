import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startMount, type TestMount } from '../helpers/mount.js';

const test = suite('snapshots through the mount');
let m: TestMount;

test.before(async () => {
  m = await startMount();
});
test.after(async () => {
  await m.cleanup();
});

// fsck counts the objects of both places: objects/ and the small ones still staged in the metadata
// store, which move to objects/ in the background (a count of objects/ alone changes as they move).
const objectCount = async () => (JSON.parse((await m.strata(['fsck', '--json'])).stdout) as { storedObjects: number }).storedObjects;

test('a pin keeps the old namespace and bytes readable through gc, and retiring it lets gc reclaim them', async () => {
  const d = m.mountpoint;
  await m.sh(`head -c 5000000 /dev/urandom > ${d}/changed && head -c 3000000 /dev/urandom > ${d}/cut && echo keep > ${d}/deleted && echo moving > ${d}/renamed`);
  const before = (await m.sh(`cd ${d} && sha256sum changed cut deleted renamed`)).stdout;
  assert.match((await m.strata(['snapshot', 'pin', 'v1'])).stdout, /^\d+\n$/);
  await m.sh(`head -c 100 /dev/urandom > ${d}/changed && truncate -s 10 ${d}/cut && rm ${d}/deleted && mv ${d}/renamed ${d}/moved`);

  assert.is((await m.sh(`cd ${d}/.snapshots/v1 && sha256sum changed cut deleted renamed`)).stdout, before);
  assert.is((await m.sh(`ls ${d}/.snapshots`)).stdout, 'v1\n');
  assert.not.match((await m.sh(`ls -a ${d}`)).stdout, /\.snapshots/);
  const write = await m.sh(`echo x > ${d}/.snapshots/v1/new`, { allowFailure: true });
  assert.match(write.stderr, /Read-only file system/);
  await m.strata(['get', '/deleted', `${m.home}/deleted.copy`, '--snapshot', 'v1']);
  assert.is((await m.sh(`cat ${m.home}/deleted.copy`)).stdout, 'keep\n');

  const pinnedObjects = await objectCount();
  assert.match((await m.strata(['gc', '--grace', '0'])).stdout, /objects: deleted 0; kept \d+ for pins/);
  assert.is(await objectCount(), pinnedObjects);
  assert.match((await m.strata(['fsck'])).stdout, /clean\n$/);

  await m.strata(['snapshot', 'retire', 'v1']);
  assert.match((await m.strata(['gc', '--grace', '0'])).stdout, /objects: deleted [1-9]\d*;/);
  const fsck = await m.strata(['fsck', '--json']);
  const report = JSON.parse(fsck.stdout) as { clean: boolean; reachableObjects: number; storedObjects: number };
  assert.ok(report.clean);
  assert.is(report.storedObjects, report.reachableObjects, 'the store holds exactly what is reachable');
  assert.is((await m.sh(`ls ${d}/.snapshots`)).stdout, '');
});

test('mount --snapshot serves a pinned version read-only', async () => {
  const d = m.mountpoint;
  await m.sh(`echo old > ${d}/note`);
  await m.strata(['snapshot', 'pin', 'v2']);
  await m.sh(`echo new > ${d}/note`);
  await m.unmount();
  await m.remount(['--snapshot', 'v2']);
  assert.is((await m.sh(`cat ${d}/note`)).stdout, 'old\n');
  const write = await m.sh(`echo x > ${d}/note`, { allowFailure: true });
  assert.match(write.stderr, /Read-only file system/);
  await m.unmount();
  await m.remount([]);
  assert.is((await m.sh(`cat ${d}/note`)).stdout, 'new\n');
});

test.run();
