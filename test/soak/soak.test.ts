// The soak script (scripts/soak.mjs) as a test: parallel writers and readers against a model,
// snapshots pinned and retired, gc on a short grace, for STRATA_SOAK_SECONDS (default 120) seconds;
// it must end with every file and snapshot matching the model and a clean fsck.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const SCRIPT = fileURLToPath(new URL('../../../scripts/soak.mjs', import.meta.url));
const SECONDS = Number(process.env.STRATA_SOAK_SECONDS ?? 120);

const test = suite('soak');

test(`${SECONDS} s of parallel writers, readers, snapshots and gc end with every file matching the model`, async () => {
  const child = spawn(process.execPath, [SCRIPT, '--seconds', String(SECONDS)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => {
    output += d.toString();
    process.stdout.write(d);
  });
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  assert.is(code, 0, `the soak failed:\n${output.slice(-4000)}`);
  assert.match(output, /soak: passed/);
  assert.match(output, /mount RSS: start [\d.]+ MiB, end [\d.]+ MiB/);
});

test.run();
