// Logs: pino JSON lines with a level; a detached mount writes them to strata.log in the volume's
// home, which strata status names; a failed read is one error line with its path, key and cause.

import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { logLines, stopDetachedMount, strata } from '../helpers/cli.js';
import { startMount } from '../helpers/mount.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';

const test = suite('logs');

const LEVELS = ['debug', 'info', 'warn', 'error'];
const LOG_MODULE = fileURLToPath(new URL('../../src/log.js', import.meta.url));
const execFileAsync = promisify(execFile);

test('a detached mount logs JSON lines with a level to strata.log, which strata status names', async () => {
  const base = await makeTempDir('log');
  const home = join(base, 'home');
  const mountpoint = join(base, 'mnt');
  try {
    await mkdir(mountpoint);
    const mounted = await strata(['mount', mountpoint, '--home', home, '--log-level', 'debug']);
    const logFile = join(home, 'default', 'strata.log');
    assert.match(mounted.stdout, new RegExp(`log: ${logFile}`));
    const status = JSON.parse((await strata(['status', '--json', '--home', home])).stdout) as { logFile: string; mounted: boolean };
    assert.is(status.mounted, true);
    assert.is(status.logFile, logFile);
    assert.match((await strata(['status', '--home', home])).stdout, new RegExp(`^log +${logFile}$`, 'm'));
    await strata(['umount', mountpoint, '--home', home]);
    const lines = logLines(await readFile(logFile, 'utf8'));
    for (const line of lines) {
      assert.ok(LEVELS.includes(line.level as string), `level ${String(line.level)} in ${JSON.stringify(line)}`);
      assert.type(line.time, 'string');
      assert.type(line.msg, 'string');
      assert.type(line.pid, 'number');
    }
    const messages = lines.map((line) => `${line.level} ${line.msg}`);
    assert.ok(messages.includes('info mounted'), messages.join('\n'));
    assert.ok(messages.includes('debug control request'), '--log-level debug logs control requests');
    assert.ok(messages.includes('info unmounted'), messages.join('\n'));
  } finally {
    await stopDetachedMount(home, mountpoint);
    await removeDir(base);
  }
});

test('lines below the level are dropped; an unknown --log-level is a usage error', async () => {
  const script = `const l = await import(${JSON.stringify(LOG_MODULE)}); l.setLogLevel('warn'); l.log('info', 'hidden'); l.log('warn', 'shown', { path: '/a' });`;
  const ran = await execFileAsync(process.execPath, ['--input-type=module', '-e', script]);
  const lines = logLines(ran.stderr);
  assert.is(lines.length, 1, ran.stderr);
  assert.is(lines[0]!.level, 'warn');
  assert.is(lines[0]!.msg, 'shown');
  assert.is(lines[0]!.path, '/a');
  const bad = await strata(['mount', '/tmp', '--foreground', '--log-level', 'loud'], { allowFailure: true });
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /--log-level must be one of debug, info, warn, error/);
});

test('a failed read logs one error line with the path, the object key and the cause', async () => {
  const m = await startMount();
  try {
    await m.sh(`head -c 3000000 /dev/urandom > ${m.mountpoint}/victim`);
    await m.unmount();
    const objectsDir = join(m.home, 'default', 'objects');
    const objectFile = await findFile(objectsDir);
    const bytes = await readFile(objectFile);
    bytes[0] ^= 0xff;
    await writeFile(objectFile, bytes);
    await m.remount();
    const read = await m.sh(`cat ${m.mountpoint}/victim > /dev/null`, { allowFailure: true });
    assert.is.not(read.code, 0);
    const errors = logLines(m.log()).filter((line) => line.level === 'error');
    assert.ok(errors.length >= 1, m.log());
    const line = errors[0]!;
    assert.is(line.path, '/victim');
    assert.is(line.op, 'read');
    assert.is(line.key, objectFile.slice(objectsDir.length + 1));
    assert.match(line.cause as string, /^EIO: checksum mismatch for object blocks\//);
  } finally {
    await m.cleanup();
  }
});

async function findFile(dir: string): Promise<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isFile()) return path;
    if (entry.isDirectory()) {
      const found = await findFile(path).catch(() => undefined);
      if (found) return found;
    }
  }
  throw new Error(`no file under ${dir}`);
}

test.run();
