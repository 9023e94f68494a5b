// Object GC: deletes queued objects that nothing can read any more. A queued object may go only
// when (a) no pin is older than the commit that removed it (such a pin can still read it), (b) the
// grace window has passed since it was queued, so read plans handed out before the removal can
// finish, and (c) no read in flight in this process holds a lease on it. The object is deleted
// first and its queue record after, so a crash in between only repeats a harmless delete.

import { keys, parseKey } from '../meta/keys.js';
import { decode, type GcQueueRecord } from '../meta/records.js';
import { listPins } from '../snapshot/pins.js';
import type { Volume } from '../volume.js';

const DELETE_BATCH = 1000;

export interface GcOptions {
  graceMs: number;
  dryRun?: boolean;
  nowMs?: number;
}

export interface ObjectGcReport {
  deleted: number;
  keptByPin: number;
  keptByGrace: number;
  keptByLease: number;
  deletedKeys: string[];
}

export async function collectObjects(volume: Volume, options: GcOptions): Promise<ObjectGcReport> {
  const now = options.nowMs ?? Date.now();
  const oldestPin = Math.min(...(await listPins(volume)).map((pin) => pin.version));
  const report: ObjectGcReport = { deleted: 0, keptByPin: 0, keptByGrace: 0, keptByLease: 0, deletedKeys: [] };
  const [start, end] = keys.spaceRange('Q');
  const due: Buffer[] = [];
  for (const entry of await volume.kv.scan(start, end)) {
    const objectKey = parseKey.objectKey(entry.key);
    const record = decode<GcQueueRecord>(entry.value);
    if (oldestPin < entry.version) report.keptByPin++;
    else if (now - record.queuedAtMs < options.graceMs) report.keptByGrace++;
    else if (volume.bodyContext.leases.isLeased(objectKey)) report.keptByLease++;
    else {
      due.push(entry.key);
      report.deletedKeys.push(objectKey);
    }
  }
  if (!options.dryRun) {
    for (let i = 0; i < due.length; i += DELETE_BATCH) {
      const batch = due.slice(i, i + DELETE_BATCH);
      await volume.store.delete(batch.map(parseKey.objectKey));
      await volume.kv.commit(batch.map((key) => ({ type: 'del', key })));
    }
  }
  report.deleted = due.length;
  return report;
}
