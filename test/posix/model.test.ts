// The model-based random test: test/helpers/posix-model.py applies one seeded random sequence of
// operations (create/open with O_CREAT/O_EXCL/O_TRUNC/O_APPEND, writes at random offsets including
// far past EOF and across 4 MiB blocks, reads, truncate and ftruncate, fsync, close and reopen,
// rename, link, unlink, mkdir, rmdir, chmod, symlink, listings) to a local ext4 directory and to a
// Strata mount, compares every result, and compares the whole trees at the end. The local
// directory is the model: whatever ext4 answers is the expected answer.
//
// CI runs MODEL_SEEDS with MODEL_OPS_PER_SEED operations each (3,000 in all). More by hand:
//   STRATA_MODEL_OPS=100000 npx uvu dist/test/posix "model\.test\.js$"
// splits the operations over as many seeds (5,000 each) as it takes; STRATA_MODEL_SEED=<n> starts
// the seeds at n. A failure prints the seed, the step, the operation, both results and the 25
// operations before it; replay one by hand with
//   python3 test/helpers/posix-model.py <seed> <ops> <local dir> <dir in a mount>

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startMount, type TestMount } from '../helpers/mount.js';
import { localReferenceDir, MODEL_SCRIPT, PYTHON, quote, run, sh } from '../helpers/posix-run.js';
import { removeDir } from '../helpers/tmp.js';

const MODEL_SEEDS = [1, 2, 3];
const MODEL_OPS_PER_SEED = 1000;
const OPS_PER_SEED_BY_HAND = 5000;

function plannedRuns(): Array<{ seed: number; ops: number }> {
  const total = Number(process.env.STRATA_MODEL_OPS ?? 0);
  const firstSeed = Number(process.env.STRATA_MODEL_SEED ?? 1000);
  if (!total) return MODEL_SEEDS.map((seed) => ({ seed, ops: MODEL_OPS_PER_SEED }));
  const runs: Array<{ seed: number; ops: number }> = [];
  for (let left = total, seed = firstSeed; left > 0; left -= OPS_PER_SEED_BY_HAND, seed++) {
    runs.push({ seed, ops: Math.min(left, OPS_PER_SEED_BY_HAND) });
  }
  return runs;
}

interface ModelReport {
  seed: number;
  ops: number;
  ok: boolean;
  divergence?: unknown;
  recent?: string[];
  counts: Record<string, number>;
  errors: Record<string, number>;
}

const test = suite('model: random operations give the same results on Strata as on ext4');
let m: TestMount;
let localDir: string;

test.before(async () => {
  m = await startMount();
  localDir = (await localReferenceDir('posix-model')).dir;
});

test.after(async () => {
  try {
    await m?.cleanup();
  } finally {
    if (localDir) await removeDir(localDir);
  }
});

for (const { seed, ops } of plannedRuns()) {
  test(`seed ${seed}: ${ops} operations, every result and the final tree equal`, async () => {
    const local = `${localDir}/seed-${seed}`;
    const mounted = `${m.mountpoint}/seed-${seed}`;
    await sh(`mkdir ${quote(local)} ${quote(mounted)}`);
    const result = await run(PYTHON, [MODEL_SCRIPT, String(seed), String(ops), local, mounted], { timeoutMs: 600_000 });
    let report: ModelReport;
    try {
      report = JSON.parse(result.stdout) as ModelReport;
    } catch {
      throw new Error(`the model driver crashed on seed ${seed} (exit ${result.code}):\n${result.stderr}`);
    }
    const failure = report.ok ? '' : `seed ${seed} diverged:\n${JSON.stringify(report.divergence, null, 1)}\nbefore it:\n  ${(report.recent ?? []).join('\n  ')}`;
    assert.ok(report.ok, failure);
    assert.is(report.ops, ops);
    // the run must have exercised the collisions it exists for
    for (const errno of ['EEXIST', 'ENOENT', 'ENOTDIR']) assert.ok((report.errors[errno] ?? 0) > 0, `seed ${seed} never hit ${errno}`);
    await sh(`rm -rf ${quote(local)} ${quote(mounted)}`);
  });
}

test.run();
