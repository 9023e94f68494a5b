// Bad input at the command line: every command refuses unknown or malformed flags and values with
// a message saying what was wrong and exit status 2, and a --home or --volume that is not a Strata
// volume is refused before anything is written into it.

import { execFile } from 'node:child_process';
import { mkdir, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { STRATA_BIN } from '../helpers/mount.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';

const exec = promisify(execFile);

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

async function strata(args: string[], home: string): Promise<Ran> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [STRATA_BIN, ...args], { env: { ...process.env, STRATA_HOME: home } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failure = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failure.code === 'number' ? failure.code : -1, stdout: failure.stdout ?? '', stderr: failure.stderr ?? '' };
  }
}

const LONG = 'x'.repeat(300);
/** The mount point given to mount commands that must be refused: should one slip through, it cannot mount there. */
const NOT_A_DIR = '/etc/hostname';

/** [arguments, what the message must say]; each must exit 2 without touching a volume. */
const USAGE_ERRORS: Array<[string[], RegExp]> = [
  [[], /a POSIX filesystem/],
  [['frobnicate'], /unknown command "frobnicate"/],
  [['mount'], /missing <dir>/],
  [['mount', '/definitely/not/here'], /mount point \/definitely\/not\/here does not exist/],
  [['mount', NOT_A_DIR, 'extra'], /unexpected argument "extra"/],
  [['mount', NOT_A_DIR, '--cache-size', 'lots'], /"lots" is not a size/],
  [['mount', NOT_A_DIR, '--cache-size'], /--cache-size needs a value/],
  [['mount', NOT_A_DIR, '--cache-size', '99999999999999999999T'], /is too large/],
  [['mount', NOT_A_DIR, '--max-dirty', '1M'], /--max-dirty must be at least 4M \(one block\), not 1048576 bytes/],
  [['mount', NOT_A_DIR, '--max-dirty', 'plenty'], /"plenty" is not a size/],
  [['mount', NOT_A_DIR, '--grace', '5'], /needs a unit/],
  [['mount', NOT_A_DIR, '--grace', '-1s'], /is not a duration/],
  [['mount', NOT_A_DIR, '--grace', '1fortnight'], /is not a duration/],
  [['mount', NOT_A_DIR, '--foreground=yes'], /--foreground takes no value/],
  [['mount', NOT_A_DIR, '--read-only', '--read-only'], /--read-only is given more than once/],
  [['mount', NOT_A_DIR, '--object-backend', 'ftp'], /--object-backend must be one of file, s3, rustfs, minio/],
  [['mount', NOT_A_DIR, '--object-backend', 's3'], /needs --bucket/],
  [['mount', NOT_A_DIR, '--object-backend', 's3', '--bucket', 'Not_A_Bucket'], /is not a bucket name/],
  [['mount', NOT_A_DIR, '--object-backend', 's3', '--bucket', 'good-bucket', '--endpoint', 'not a url'], /is not an http:\/\/ or https:\/\/ URL/],
  [['mount', NOT_A_DIR, '--object-backend', 's3', '--bucket', 'good-bucket', '--endpoint', 'ftp://x'], /is not an http:\/\/ or https:\/\/ URL/],
  [['mount', NOT_A_DIR, '--object-backend', 's3', '--bucket', 'good-bucket', '--prefix', '../up/'], /--prefix .* must be relative/],
  [['mount', NOT_A_DIR, '--object-backend', 'file', '--bucket', 'good-bucket'], /--bucket goes with --object-backend s3/],
  [['mount', NOT_A_DIR, '--endpoint', 'http://127.0.0.1:1'], /--endpoint goes with --object-backend s3/],
  [['mount', NOT_A_DIR, '--volume', '../escape'], /volume name "..\/escape" must be/],
  [['mount', NOT_A_DIR, '--volume', 'a/b'], /volume name "a\/b" must be/],
  [['mount', NOT_A_DIR, '--volume', ''], /--volume needs a non-empty value/],
  [['mount', NOT_A_DIR, '--home', ''], /--home needs a non-empty value/],
  [['mount', NOT_A_DIR, '--metrics-port', 'http'], /--metrics-port needs a whole number/],
  [['mount', NOT_A_DIR, '--bogus'], /unknown option --bogus/],
  [['mount', NOT_A_DIR, '-f'], /unknown option -f/],
  [['umount'], /missing <dir>/],
  [['umount', '/a', '/b'], /unexpected argument "\/b"/],
  [['umount', '/a', '--volume', 'x'], /unknown option --volume/],
  [['put'], /missing <local-file> <path>/],
  [['put', 'local'], /missing <path>/],
  [['put', 'local', '/x', '--snapshot', 's'], /unknown option --snapshot/],
  [['get', '/x'], /missing <local-file>/],
  [['get', '/x', 'out', '--snapshot'], /--snapshot needs a value/],
  [['stat'], /missing <path>/],
  [['stat', '/a', '/b'], /unexpected argument "\/b"/],
  [['ls', '-l'], /unknown option -l/],
  [['ls', '/', '/b'], /unexpected argument "\/b"/],
  [['status', 'extra'], /unexpected argument "extra"/],
  [['status', '--json=yes'], /--json takes no value/],
  [['snapshot'], /snapshot needs pin, list or retire/],
  [['snapshot', 'take', 'x'], /snapshot needs pin, list or retire/],
  [['snapshot', 'pin'], /missing <name>/],
  [['snapshot', 'pin', 'a', 'b'], /unexpected argument "b"/],
  [['snapshot', 'pin', 'a/b'], /snapshot name "a\/b" must be/],
  [['snapshot', 'pin', '..'], /snapshot name ".." must be/],
  [['snapshot', 'pin', LONG], /snapshot name "x+" must be 1-128/],
  [['snapshot', 'retire', '../x'], /snapshot name "..\/x" must be/],
  [['snapshot', 'list', 'extra'], /unexpected argument "extra"/],
  [['gc', '--grace'], /--grace needs a value/],
  [['gc', '--grace', 'soon'], /"soon" is not a duration/],
  [['gc', '--grace', '99999999999999999999d'], /is too long/],
  [['gc', '--dry-run=1'], /--dry-run takes no value/],
  [['gc', 'now'], /unexpected argument "now"/],
  [['fsck', '--repair=yes'], /--repair takes no value/],
  [['fsck', '--constructor'], /unknown option --constructor/],
  [['fsck', 'extra'], /unexpected argument "extra"/],
];

const test = suite('bad input at the command line');
let home: string;

test.before(async () => {
  home = await makeTempDir('badinput-cli');
});
test.after(async () => {
  await removeDir(home);
});

test('every malformed command line exits 2 with a message that says what was wrong', async () => {
  const failures: string[] = [];
  // a few at a time: each is a node process
  for (let i = 0; i < USAGE_ERRORS.length; i += 6) {
    await Promise.all(USAGE_ERRORS.slice(i, i + 6).map(async ([args, message]) => {
      const ran = await strata(args, home);
      const output = ran.stderr + ran.stdout;
      if (ran.code !== 2 || !message.test(output)) failures.push(`strata ${args.join(' ').slice(0, 80)}: exit ${ran.code}, said ${JSON.stringify(output.slice(0, 200))}`);
    }));
  }
  assert.equal(failures, []);
  assert.equal(await readdir(home), [], 'a refused command wrote into the home folder');
  process.stdout.write(`\n${USAGE_ERRORS.length} malformed command lines refused with exit status 2\n`);
});

test('--help or -h after any command prints its usage on stdout and exits 0, changing nothing', async () => {
  const asks: Array<[string[], RegExp]> = [
    [['mount', '--help'], /^usage: strata mount <dir> \[--foreground\]/],
    [['mount', NOT_A_DIR, '--read-only', '-h'], /^usage: strata mount <dir>/],
    [['umount', '--help'], /^usage: strata umount <dir>/],
    [['ls', '-h'], /^usage: strata ls \[<path>\]/],
    [['snapshot', '--help'], /^usage: strata snapshot pin <name> \| list \| retire <name>/],
    [['snapshot', 'retire', '--help'], /^usage: strata snapshot pin <name>/],
    [['gc', '--grace', '0', '--help'], /^usage: strata gc/],
    [['fsck', '--help'], /^usage: strata fsck \[--repair\]/],
    [['doctor', '--help'], /^usage: strata doctor/],
  ];
  for (const [args, usage] of asks) {
    const ran = await strata(args, home);
    assert.is(ran.code, 0, `strata ${args.join(' ')}: ${ran.stderr}`);
    assert.match(ran.stdout, usage, `strata ${args.join(' ')}`);
    assert.is(ran.stderr, '');
  }
  // after --, --help is a path like any other
  const afterDashes = await strata(['ls', '--', '--help'], home);
  assert.is(afterDashes.code, 2);
  assert.match(afterDashes.stderr, /there is no Strata volume/);
  assert.equal(await readdir(home), [], 'asking for help wrote into the home folder');
});

test('a --home whose volume folder is something else is refused and left untouched', async () => {
  const foreign = join(home, 'foreign');
  await mkdir(join(foreign, 'default'), { recursive: true });
  await writeFile(join(foreign, 'default', 'notes.txt'), 'not a volume');
  for (const args of [['ls'], ['status'], ['gc', '--grace', '0'], ['fsck'], ['snapshot', 'list'], ['put', '/etc/hostname', '/h'], ['mount', NOT_A_DIR]]) {
    const ran = await strata([...args, '--home', foreign], home);
    assert.is(ran.code, 2, `strata ${args.join(' ')}: ${ran.stderr}`);
    assert.match(ran.stderr, /default is not a Strata volume \(it has no volume\.json but holds notes\.txt\)/);
  }
  assert.equal(await readdir(join(foreign, 'default')), ['notes.txt']);

  const file = join(home, 'a-file');
  await writeFile(file, 'x');
  const onFile = await strata(['ls', '--home', file], home);
  assert.is(onFile.code, 2);
  assert.match(onFile.stderr, /--home .*a-file is not a folder/);

  const empty = join(home, 'empty');
  const absent = await strata(['status', '--home', empty], home);
  assert.is(absent.code, 2);
  assert.match(absent.stderr, /there is no Strata volume "default" in .*empty; strata mount or strata put creates one/);

  const lost = join(home, 'lost');
  assert.is((await strata(['put', '/etc/hostname', '/h', '--home', lost], home)).code, 0);
  await rename(join(lost, 'default', 'meta'), join(lost, 'meta-moved'));
  const noMeta = await strata(['ls', '--home', lost], home);
  assert.is(noMeta.code, 2);
  assert.match(noMeta.stderr, /has a volume\.json but no metadata database/);
  await rename(join(lost, 'meta-moved'), join(lost, 'default', 'meta'));
  assert.match((await strata(['ls', '--home', lost], home)).stdout, / h\n/);

  assert.is((await strata(['put', '/etc/hostname', '/h', '--home', join(home, 'broken')], home)).code, 0);
  await writeFile(join(home, 'broken', 'default', 'volume.json'), '{ this is not json');
  const broken = await strata(['ls', '--home', join(home, 'broken')], home);
  assert.is(broken.code, 1);
  assert.match(broken.stderr, /volume\.json is not a Strata volume configuration/);
});

test('names and paths: a 256-byte name, a NUL-free argv, and .. that cannot leave the volume', async () => {
  const volumeHome = join(home, 'paths');
  const put = (path: string) => strata(['put', '/etc/hostname', path, '--home', volumeHome], home);
  assert.is((await put('/first')).code, 0);
  const long = await put('/' + 'n'.repeat(256));
  assert.is(long.code, 1);
  assert.match(long.stderr, /ENAMETOOLONG/);
  assert.is((await put('/' + 'n'.repeat(255))).code, 0);
  // .. at the volume's root stays at the root, as / does in POSIX
  assert.is((await put('/../../../escaped')).code, 0);
  const listing = await strata(['ls', '/../..', '--json', '--home', volumeHome], home);
  assert.equal((JSON.parse(listing.stdout) as { name: string }[]).map((e) => e.name).sort(), ['escaped', 'first', 'n'.repeat(255)]);
  const missing = await strata(['get', '/nope/../first', join(home, 'out'), '--home', volumeHome], home);
  assert.is(missing.code, 1);
  assert.match(missing.stderr, /ENOENT/);
  // argv cannot carry NUL at all: the system refuses it before strata runs (the control socket test covers NUL)
  let refused = '';
  try {
    await exec(process.execPath, [STRATA_BIN, 'put', '/etc/hostname', '/a\0b']);
  } catch (err) {
    refused = (err as Error).message;
  }
  assert.match(refused, /without null bytes/);
});

test.run();
