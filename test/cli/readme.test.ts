// Every `strata ...` example in the README's Commands table runs and exits 0. The commands run
// verbatim through /bin/sh, in a scratch HOME (so `~/strata` and the default `~/.strata` home are
// fresh folders) with `strata` on the PATH, in an order that makes each one meaningful: mount first,
// pin before the get that reads the snapshot, unmount last. The list below must equal the table's
// set of commands, so the README and this test cannot drift apart.

import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { stopDetachedMount, type Ran } from '../helpers/cli.js';
import { STRATA_BIN } from '../helpers/mount.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';

const exec = promisify(execFile);
const README = fileURLToPath(new URL('../../../README.md', import.meta.url));

/** The README's commands in the order they run; `before` prepares what a command needs. */
const PLAN: Array<{ command: string; before?: (scratch: string) => Promise<void>; check?: (ran: Ran, scratch: string) => Promise<void> | void }> = [
  { command: 'strata doctor', check: (ran) => assert.match(ran.stdout, /^all \d+ checks passed$/m) },
  { command: 'strata mount ~/strata', before: (scratch) => mkdir(join(scratch, 'strata')), check: (ran) => assert.match(ran.stdout, /^mounted \(pid \d+\); log: /) },
  {
    command: 'strata put ./report.pdf /docs/report.pdf',
    before: async (scratch) => {
      await mkdir(join(scratch, 'strata', 'docs'));
      await writeFile(join(scratch, 'report.pdf'), 'a report\n'.repeat(1000));
    },
  },
  { command: 'strata ls /docs', check: (ran) => assert.match(ran.stdout, / report\.pdf$/m) },
  { command: 'strata stat /docs/report.pdf', check: (ran) => assert.match(ran.stdout, /"digestUri": "sha256:/) },
  { command: 'strata status', check: (ran) => assert.match(ran.stdout, /^mount +\S+strata \(pid/m) },
  { command: 'strata status --metrics', check: (ran) => assert.match(ran.stdout, /^# TYPE strata_fuse_op_duration_seconds histogram$/m) },
  { command: 'strata snapshot pin before-edit', check: (ran) => assert.match(ran.stdout, /^\d+$/m) },
  { command: 'strata snapshot list', check: (ran) => assert.match(ran.stdout, /^before-edit\t\d+\t/m) },
  {
    command: 'strata get /docs/report.pdf ./copy.pdf --snapshot before-edit',
    check: async (_ran, scratch) => assert.is(await readFile(join(scratch, 'copy.pdf'), 'utf8'), 'a report\n'.repeat(1000)),
  },
  { command: 'strata snapshot retire before-edit', check: (ran) => assert.match(ran.stdout, /^retired before-edit/) },
  { command: 'strata gc', check: (ran) => assert.match(ran.stdout, /^objects: deleted \d+/m) },
  { command: 'strata fsck', check: (ran) => assert.match(ran.stdout, /^clean$/m) },
  { command: 'strata umount ~/strata', check: (ran) => assert.match(ran.stdout, /^unmounted /) },
];

/** The `strata ...` code spans in the rows of the table under "## Commands". */
function readmeCommands(markdown: string): string[] {
  const section = markdown.split(/^## /m).find((part) => part.startsWith('Commands\n'));
  if (!section) throw new Error('README.md has no "## Commands" section');
  const rows = section.split('\n').filter((line) => line.startsWith('|'));
  return rows.flatMap((row) => [...row.matchAll(/`([^`]+)`/g)].map((match) => match[1]!).filter((span) => span.startsWith('strata ')));
}

const test = suite('README commands');

test('the plan runs exactly the commands of the README table', async () => {
  const listed = readmeCommands(await readFile(README, 'utf8'));
  assert.ok(listed.length >= 10, `found only ${listed.length} commands`);
  assert.equal([...new Set(PLAN.map((step) => step.command))].sort(), [...new Set(listed)].sort());
});

test('every README command exits 0, run as written', async () => {
  const scratch = await makeTempDir('readme');
  const bin = join(scratch, 'bin');
  await mkdir(bin);
  await writeFile(join(bin, 'strata'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(STRATA_BIN)} "$@"\n`);
  await chmod(join(bin, 'strata'), 0o755);
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: scratch, PATH: `${bin}:${process.env.PATH ?? ''}` };
  delete env.STRATA_HOME;
  try {
    for (const step of PLAN) {
      await step.before?.(scratch);
      let ran: Ran;
      try {
        const { stdout, stderr } = await exec('/bin/sh', ['-c', step.command], { cwd: scratch, env, maxBuffer: 16 * 1024 * 1024 });
        ran = { stdout, stderr, code: 0 };
      } catch (err) {
        const failure = err as { stdout?: string; stderr?: string; code?: number };
        assert.unreachable(`${step.command} exited ${failure.code}:\n${failure.stdout ?? ''}${failure.stderr ?? ''}`);
        return;
      }
      await step.check?.(ran, scratch);
    }
  } finally {
    await stopDetachedMount(join(scratch, '.strata'), join(scratch, 'strata'));
    await removeDir(scratch);
  }
});

test.run();
