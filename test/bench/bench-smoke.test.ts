// scripts/bench runs end to end: a quick run on local disk, the null FUSE filesystem and Strata's
// file backend prints its table and writes a JSON report with a positive figure for every workload
// on every target. It proves the bench works, not how fast anything is.

import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeTempDir, removeDir } from '../helpers/tmp.js';

const exec = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TARGETS = ['local', 'null', 'strata-file'];
const WORKLOADS = ['seq', 'parallel', 'randread', 'files-1k', 'files-10k', 'stat', 'ls', 'untar', 'rsync'];

interface Figure {
  value?: number;
  bound?: string;
  error?: string;
  rounds?: (number | null)[];
}
interface Report {
  metrics: { key: string; workload: string; unit: string }[];
  targets: Record<string, { status: string; metrics: Record<string, Figure>; longestQuiesce?: { seconds: number; before: string } }>;
  ratios: Record<string, Record<string, Figure>>;
}

const test = suite('scripts/bench');

async function runBench(dir: string, args: string[]): Promise<{ stdout: string; report: Report }> {
  const json = join(dir, 'bench.json');
  const all = [...args, '--json', json];
  const { stdout } = await exec(join(ROOT, 'scripts/bench'), all, { cwd: ROOT, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }).catch((err: { stdout?: string; stderr?: string; message: string }) => {
    throw new Error(`scripts/bench ${all.join(' ')} failed: ${err.message}\n${err.stdout ?? ''}\n${err.stderr ?? ''}`);
  });
  return { stdout, report: JSON.parse(await readFile(json, 'utf8')) as Report };
}

test('a quick run reports a positive figure for every workload on every target, and Strata’s ratios', async () => {
  const dir = await makeTempDir('bench-smoke');
  try {
    const { stdout, report } = await runBench(dir, ['--quick', '--targets', TARGETS.join(',')]);

    assert.equal([...new Set(report.metrics.map((m) => m.workload))], WORKLOADS);
    for (const target of TARGETS) {
      assert.is(report.targets[target]?.status, 'ok', `${target} ran`);
      for (const metric of report.metrics) {
        const figure = report.targets[target]!.metrics[metric.key];
        assert.ok(figure && figure.error === undefined, `${target} ${metric.key}: ${figure?.error ?? 'missing'}`);
        assert.ok(figure!.value! > 0 && figure!.bound === undefined, `${target} ${metric.key} = ${JSON.stringify(figure)}`);
      }
    }
    for (const pair of ['file/local', 'file/null']) {
      for (const metric of report.metrics) assert.ok(report.ratios[pair]?.[metric.key]?.value! > 0, `ratio ${pair} ${metric.key}`);
    }
    for (const target of TARGETS) assert.match(stdout, target);
    assert.match(stdout, 'file/null');
    // Small files leave objects to move to the object folder 2 s later: the next workload waits for that.
    const waited = report.targets['strata-file']!.longestQuiesce;
    assert.ok(waited && waited.seconds > 0, `strata-file waited for its background moves: ${JSON.stringify(waited)}`);
    assert.match(stdout, /strata-file waited up to [\d.]+ s/);
  } finally {
    await removeDir(dir);
  }
});

test('with --rounds, each figure is the median of the rounds, every round kept', async () => {
  const dir = await makeTempDir('bench-rounds');
  try {
    const { stdout, report } = await runBench(dir, ['--quick', '--rounds', '3', '--targets', 'local,null', '--workloads', 'files-1k']);
    for (const target of ['local', 'null']) {
      const figure = report.targets[target]!.metrics['files-few']!;
      const rounds = figure.rounds!;
      assert.is(rounds.length, 3, `${target}: three rounds`);
      assert.ok(rounds.every((value) => value! > 0), `${target}: every round measured (${rounds.join(', ')})`);
      assert.is(figure.value, [...(rounds as number[])].sort((a, b) => a - b)[1], `${target}: the median round`);
    }
    assert.match(stdout, 'median of 3 rounds');
  } finally {
    await removeDir(dir);
  }
});

test('strata-file-ra0 runs random reads only, with readahead off, and gives file/file-ra0', async () => {
  const dir = await makeTempDir('bench-ra0');
  try {
    const { stdout, report } = await runBench(dir, ['--quick', '--targets', 'strata-file,strata-file-ra0', '--workloads', 'seq,randread']);
    const control = report.targets['strata-file-ra0']!;
    assert.is(control.status, 'ok');
    assert.equal(Object.keys(control.metrics), ['randread'], 'the control runs random reads only');
    assert.ok(control.metrics['randread']!.value! > 0, `randread ${JSON.stringify(control.metrics['randread'])}`);
    assert.ok(report.ratios['file/file-ra0']?.['randread']?.value! > 0, 'ratio file/file-ra0 randread');
    assert.is(report.ratios['file-ra0/strata-file'], undefined, 'the control is no subject of its own');
    assert.match(stdout, 'file/file-ra0');
  } finally {
    await removeDir(dir);
  }
});

test.run();
