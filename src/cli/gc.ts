// strata gc [--grace <duration>] [--dry-run] and strata fsck [--repair], with a progress bar in
// objects on a terminal.

import type { FsckReport } from '../gc/fsck.js';
import type { GcReport } from '../gc/run.js';
import { parseArgs } from './args.js';
import { onVolume, printJson, VOLUME_FLAGS, VOLUME_USAGE, withProgress } from './common.js';

const DEFAULT_GRACE_MS = 3_600_000;

export async function gc(argv: string[]): Promise<number> {
  const { flags } = parseArgs(argv, {
    usage: `strata gc [--grace <duration>] [--dry-run] [--json] ${VOLUME_USAGE}`,
    positionals: [],
    flags: { ...VOLUME_FLAGS, grace: 'duration', 'dry-run': 'boolean', json: 'boolean' },
  });
  const args = { graceMs: flags.grace ?? DEFAULT_GRACE_MS, dryRun: flags['dry-run'] === true };
  const report = (await withProgress('gc', 'objects', 1, (progress) => onVolume(flags, 'gc', args, progress))) as GcReport;
  if (flags.json) {
    printJson(report);
    return 0;
  }
  const verb = report.dryRun ? 'would delete' : 'deleted';
  const { objects, staged, history } = report;
  process.stdout.write(
    `objects: ${verb} ${objects.deleted}; kept ${objects.keptByPin} for pins, ${objects.keptByGrace} inside the grace window, ${objects.keptByLease} leased by reads in flight\n` +
      `staged:  ${verb} ${staged.deleted}; kept ${staged.keptByGrace} inside the grace window, ${staged.keptByLease} held by open write sessions\n` +
      `history: ${report.dryRun ? 'would remove' : 'removed'} ${history.removed} records${history.oldestPinVersion === null ? ' (no pins)' : `; kept what the pin at version ${history.oldestPinVersion} reads`}\n`,
  );
  return 0;
}

export async function fsckCommand(argv: string[]): Promise<number> {
  const { flags } = parseArgs(argv, { usage: `strata fsck [--repair] [--json] ${VOLUME_USAGE}`, positionals: [], flags: { ...VOLUME_FLAGS, repair: 'boolean', json: 'boolean' } });
  const report = (await withProgress('fsck', 'objects', 1, (progress) => onVolume(flags, 'fsck', { repair: flags.repair === true }, progress))) as FsckReport;
  if (flags.json) printJson(report);
  else {
    process.stdout.write(`reachable ${report.reachableObjects}, queued ${report.queuedObjects}, staged ${report.stagedObjects}, stored ${report.storedObjects}\n`);
    for (const problem of report.problems) process.stdout.write(`${problem.kind}: ${problem.objectKey}: ${problem.detail}\n`);
    if (report.repaired > 0) process.stdout.write(`queued ${report.repaired} leaked objects for GC\n`);
    process.stdout.write(report.clean ? 'clean\n' : 'NOT clean\n');
  }
  return report.clean ? 0 : 1;
}
