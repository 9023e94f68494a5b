// History GC: a history record live in [wrote, ended) can be read only by a pin at a version in
// that range. Pins are never made in the past, so a record that ended at or before the oldest pin
// is unreadable, and with no pins all history is. The `e` index is ordered by `ended`, so a pass
// reads only what it removes.

import { listPins } from '../snapshot/pins.js';
import { parseHistoryIndexEntry } from '../meta/versioned.js';
import type { Volume } from '../volume.js';

const PASS_BATCH = 2000;

export interface HistoryGcReport {
  removed: number;
  oldestPinVersion: number | null;
}

export async function collectHistory(volume: Volume, options: { dryRun?: boolean } = {}): Promise<HistoryGcReport> {
  const pins = await listPins(volume);
  const oldestPin = pins.length === 0 ? volume.kv.currentVersion() : Math.min(...pins.map((pin) => pin.version));
  let removed = 0;
  for (;;) {
    const index = await volume.kv.historyEndedBy(oldestPin, PASS_BATCH);
    if (index.length === 0) break;
    removed += index.length;
    if (options.dryRun) break;
    const doomed = index.flatMap((entry) => [entry.key, parseHistoryIndexEntry(entry.key, entry.value).historyKey]);
    await volume.kv.dropHistory(doomed);
    if (index.length < PASS_BATCH) break;
  }
  return { removed, oldestPinVersion: pins.length === 0 ? null : oldestPin };
}
