// One GC pass, as `strata gc` and the mount's background worker run it: staged cleanup, object GC,
// then history GC.

import type { Volume } from '../volume.js';
import { collectHistory, type HistoryGcReport } from './history-gc.js';
import { collectObjects, type GcOptions, type ObjectGcReport } from './object-gc.js';
import { cleanupStaged, type StagedReport } from './staged.js';

export interface GcReport {
  dryRun: boolean;
  graceMs: number;
  objects: ObjectGcReport;
  staged: StagedReport;
  history: HistoryGcReport;
}

export async function runGc(volume: Volume, options: GcOptions): Promise<GcReport> {
  const staged = await cleanupStaged(volume, options);
  const objects = await collectObjects(volume, options);
  const history = await collectHistory(volume, { dryRun: options.dryRun });
  return { dryRun: options.dryRun ?? false, graceMs: options.graceMs, objects, staged, history };
}

/** Runs GC passes on an interval in a live mount; a failed pass is logged and retried next time. */
export function startGcWorker(volume: Volume, options: { graceMs: number; intervalMs: number; log: (message: string, fields?: object) => void }): () => Promise<void> {
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = runGc(volume, { graceMs: options.graceMs }).then(
      (report) => {
        if (report.objects.deleted + report.staged.deleted + report.history.removed > 0) {
          options.log('gc pass', { deletedObjects: report.objects.deleted, deletedStaged: report.staged.deleted, removedHistory: report.history.removed });
        }
      },
      (err: unknown) => options.log('gc pass failed', { error: err instanceof Error ? err.message : String(err) }),
    );
  }, options.intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
