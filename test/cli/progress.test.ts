// Progress bars: drawn on a terminal for put, get, gc and fsck, with bytes (or objects), rate and
// ETA, whether the work runs locally or on a live mount (progress lines streamed over the control
// socket); nothing at all when stderr is not a terminal.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { callMount } from '../../src/control/client.js';
import { inTerminal, strata, strataCommandLine } from '../helpers/cli.js';
import { startMount } from '../helpers/mount.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';

const test = suite('progress');
const FILE_BYTES = 9 * 1024 * 1024;

/** What a finished bar leaves on the terminal: 100%, done/total, a rate and an ETA. */
const BYTES_BAR = /\[[█░]+\] 100% \| 9\.00 MiB \/ 9\.00 MiB \| [\d.]+ (B|KiB|MiB|GiB)\/s \| ETA \d+s/;
const OBJECTS_BAR = /\[[█░]+\] 100% \| (\d+) \/ \1 \| [\d.]+ objects\/s \| ETA \d+s/;

let base: string;
let local: string;

test.before(async () => {
  base = await makeTempDir('progress');
  local = join(base, 'nine-mb');
  await writeFile(local, Buffer.alloc(FILE_BYTES, 9));
});
test.after(async () => {
  await removeDir(base);
});

test('put and get print no progress when stderr is not a terminal', async () => {
  const home = join(base, 'quiet');
  const put = await strata(['put', local, '/f', '--home', home]);
  const get = await strata(['get', '/f', join(base, 'quiet-copy'), '--home', home]);
  assert.is(put.stderr, '');
  assert.is(get.stderr, '');
  assert.is(JSON.parse(put.stdout).sizeBytes, FILE_BYTES);
});

test('on a terminal, put, get, gc and fsck draw bars with bytes or objects, rate and ETA (no mount)', async () => {
  const home = join(base, 'tty');
  const run = (args: string[]) => inTerminal(strataCommandLine([...args, '--home', home]));
  assert.match((await run(['put', local, '/f'])).stdout, BYTES_BAR);
  assert.match((await run(['put', local, '/f'])).stdout, BYTES_BAR);
  assert.match((await run(['get', '/f', join(base, 'tty-copy')])).stdout, BYTES_BAR);
  const gc = (await run(['gc', '--grace', '0'])).stdout;
  assert.match(gc, OBJECTS_BAR, gc);
  assert.match(gc, /objects: deleted [1-9]/);
  assert.match((await run(['fsck'])).stdout, OBJECTS_BAR);
});

test('through a live mount, progress streams over the control socket before the answer', async () => {
  const m = await startMount();
  try {
    const events: Array<[number, number]> = [];
    const socket = join(m.home, 'default', 'control.sock');
    const answer = await callMount(socket, { op: 'put', args: { local, path: '/streamed', uid: 0, gid: 0 } }, (done, total) => events.push([done, total]));
    assert.is((answer?.result as { sizeBytes: number }).sizeBytes, FILE_BYTES);
    assert.ok(events.length >= 1, 'progress lines arrived');
    assert.equal(events[events.length - 1], [FILE_BYTES, FILE_BYTES]);
    for (let i = 1; i < events.length; i++) assert.ok(events[i]![0] >= events[i - 1]![0], 'progress only moves forward');

    const tty = await inTerminal(strataCommandLine(['get', '/streamed', join(base, 'mount-copy'), '--home', m.home]));
    assert.match(tty.stdout, BYTES_BAR);
    const quiet = await m.strata(['put', local, '/quiet']);
    assert.is(quiet.stderr, '');
  } finally {
    await m.cleanup();
  }
});

test.run();
