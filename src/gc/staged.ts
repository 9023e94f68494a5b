// Staged-object cleanup: objects uploaded for a commit that never happened (a failed commit, a
// write session abandoned by a crash) stay recorded as staged. Once the grace window has passed and
// no live session in this process holds them, they are deleted with their records.

import { keys, parseKey } from '../meta/keys.js';
import { decode, type StagedRecord } from '../meta/records.js';
import type { Volume } from '../volume.js';
import type { GcOptions } from './object-gc.js';

export interface StagedReport {
  deleted: number;
  keptByGrace: number;
  keptByLease: number;
  deletedKeys: string[];
}

export async function cleanupStaged(volume: Volume, options: GcOptions): Promise<StagedReport> {
  const now = options.nowMs ?? Date.now();
  const report: StagedReport = { deleted: 0, keptByGrace: 0, keptByLease: 0, deletedKeys: [] };
  const [start, end] = keys.spaceRange('S');
  const due: Buffer[] = [];
  for (const entry of await volume.kv.scan(start, end)) {
    const objectKey = parseKey.objectKey(entry.key);
    if (now - decode<StagedRecord>(entry.value).stagedAtMs < options.graceMs) report.keptByGrace++;
    else if (volume.bodyContext.leases.isLeased(objectKey)) report.keptByLease++;
    else {
      due.push(entry.key);
      report.deletedKeys.push(objectKey);
    }
  }
  if (!options.dryRun && due.length > 0) {
    await volume.store.delete(due.map(parseKey.objectKey));
    await volume.kv.commit(due.map((key) => ({ type: 'del', key })));
  }
  report.deleted = due.length;
  return report;
}
