// Progress bars for long CLI work (put, get, gc, fsck): bytes or objects done, rate and ETA, drawn
// on stderr only when stderr is a terminal, so scripts, pipes and logs see nothing.

import cliProgress from 'cli-progress';
import type { ProgressReport } from '../control/operations.js';

export type ProgressUnit = 'bytes' | 'objects';

export interface ProgressBar {
  /** undefined when no bar is drawn: pass it straight to onVolume */
  report: ProgressReport | undefined;
  stop(): void;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${UNITS[unit]}`;
}

/** A bar for `label` if stderr is a terminal; `minTotal` skips bars for work too small to need one. */
export function progressBar(label: string, unit: ProgressUnit, options: { minTotal?: number; stream?: NodeJS.WriteStream } = {}): ProgressBar {
  const stream = options.stream ?? process.stderr;
  if (!stream.isTTY) return { report: undefined, stop: () => undefined };
  const show = (n: number) => (unit === 'bytes' ? formatBytes(n) : `${n}`);
  const rateOf = (n: number) => (unit === 'bytes' ? `${formatBytes(n)}/s` : `${n.toFixed(n < 10 ? 1 : 0)} objects/s`);
  const startedMs = Date.now();
  let bar: cliProgress.SingleBar | undefined;
  let last = { done: 0, total: 0 };
  const payload = (done: number, total: number) => {
    const seconds = Math.max((Date.now() - startedMs) / 1000, 0.001);
    return { doneText: show(done), totalText: show(total), rateText: rateOf(done / seconds) };
  };
  return {
    report: (done, total) => {
      last = { done, total };
      if (!bar) {
        if (total < (options.minTotal ?? 0)) return;
        bar = new cliProgress.SingleBar(
          {
            stream,
            format: `${label} [{bar}] {percentage}% | {doneText} / {totalText} | {rateText} | ETA {eta_formatted}`,
            hideCursor: true,
            etaBuffer: 20,
            fps: 10,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, done, payload(done, total));
        return;
      }
      if (bar.getTotal() !== total) bar.setTotal(total);
      bar.update(done, payload(done, total));
    },
    stop: () => {
      if (!bar) return;
      bar.update(last.done, payload(last.done, last.total));
      bar.stop();
      bar = undefined;
    },
  };
}
