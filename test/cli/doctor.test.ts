// strata doctor: passes on a machine set up by scripts/setup.sh, and names the failing check, its
// cause and its fix otherwise (exit status 1).

import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { closedPort, strata } from '../helpers/cli.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';

const test = suite('strata doctor');
let home: string;

test.before.each(async () => {
  home = await makeTempDir('doctor');
});
test.after.each(async () => {
  await removeDir(home);
});

const CHECKS = ['/dev/fuse', 'libfuse 2', 'fusermount', 'fuse-native patch', 'rocksdb-write addon', 'block-io addon', 'volume home', 'free space', 'object store'];

test('doctor passes every check on this machine and exits 0', async () => {
  const ran = await strata(['doctor', '--home', home], { allowFailure: true });
  assert.is(ran.code, 0, ran.stdout);
  for (const check of CHECKS) assert.match(ran.stdout, new RegExp(`^OK +${check.replace('/', '\\/')}: `, 'm'));
  assert.match(ran.stdout, /^all 9 checks passed$/m);
});

test('doctor probes an existing volume\'s object store with a put, get and delete under doctor/', async () => {
  const local = join(home, 'small');
  await writeFile(local, 'small\n');
  await strata(['put', local, '/small', '--home', home]);
  const ran = await strata(['doctor', '--home', home]);
  assert.match(ran.stdout, /^OK +object store: file:\S+ \(recorded in \S+volume\.json\): put, get and delete of doctor\/\S+ took \d+ ms$/m);
});

test('doctor fails clearly with a bogus S3 endpoint: the check, the cause and what to do', async () => {
  const port = await closedPort();
  const ran = await strata(['doctor', '--home', home, '--object-backend', 's3', '--bucket', 'nothing', '--endpoint', `http://127.0.0.1:${port}`, '--region', 'us-east-1'], {
    allowFailure: true,
    env: { AWS_ACCESS_KEY_ID: 'doctor-test', AWS_SECRET_ACCESS_KEY: 'doctor-test' },
  });
  assert.is(ran.code, 1, ran.stdout);
  assert.match(ran.stdout, new RegExp(`^FAIL +object store: s3:http://127\\.0\\.0\\.1:${port}/nothing/ .*writing the probe object doctor/\\S+ failed: .*ECONNREFUSED`, 'm'));
  assert.match(ran.stdout, new RegExp(`^ +fix: check that the server at http://127\\.0\\.0\\.1:${port} runs`, 'm'));
  assert.match(ran.stdout, /^OK +\/dev\/fuse: /m, 'the other checks still run');
  assert.match(ran.stdout, /^1 of 9 checks failed$/m);
});

test('doctor fails a volume home that others can write, and says how to fix it', async () => {
  await mkdir(join(home, 'default'), { recursive: true });
  await chmod(join(home, 'default'), 0o777);
  const ran = await strata(['doctor', '--home', home], { allowFailure: true });
  assert.is(ran.code, 1);
  assert.match(ran.stdout, /^FAIL +volume home: \S+default is writable by everyone \(mode 777\)/m);
  assert.match(ran.stdout, /^ +fix: chmod 700 \S+default$/m);
});

test.run();
