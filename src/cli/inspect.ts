// strata stat <path> (descriptor and manifests), strata ls <path>, strata status [--json | --metrics].

import { S_IFMT, type Inode } from '../meta/records.js';
import type { StatusReport } from '../control/operations.js';
import { parseArgs, UsageError } from './args.js';
import { onVolume, printJson, VOLUME_FLAGS, VOLUME_USAGE } from './common.js';
import { formatBytes } from './progress.js';

export async function stat(argv: string[]): Promise<number> {
  const { positionals, flags } = parseArgs(argv, { usage: `strata stat <path> [--snapshot <name>] ${VOLUME_USAGE}`, positionals: ['path'], flags: { ...VOLUME_FLAGS, snapshot: 'string' } });
  printJson(await onVolume(flags, 'stat', { path: positionals[0], snapshot: flags.snapshot }));
  return 0;
}

const TYPE_LETTER: Record<number, string> = { 0o040000: 'd', 0o120000: 'l', 0o010000: 'p', 0o100000: '-' };

export async function ls(argv: string[]): Promise<number> {
  const { positionals, flags } = parseArgs(argv, {
    usage: `strata ls [<path>] [--snapshot <name>] [--json] ${VOLUME_USAGE}`,
    positionals: [],
    optionalPositionals: ['path'],
    flags: { ...VOLUME_FLAGS, snapshot: 'string', json: 'boolean' },
  });
  const entries = (await onVolume(flags, 'ls', { path: positionals[0] ?? '/', snapshot: flags.snapshot })) as Array<{ name: string; inode: Inode }>;
  if (flags.json) {
    printJson(entries);
    return 0;
  }
  for (const { name, inode } of entries) {
    const type = TYPE_LETTER[inode.mode & S_IFMT] ?? '?';
    const when = new Date(inode.mtimeMs).toISOString().replace('T', ' ').slice(0, 19);
    process.stdout.write(`${type}${(inode.mode & 0o7777).toString(8).padStart(4, '0')} ${String(inode.uid).padStart(5)} ${String(inode.gid).padStart(5)} ${String(inode.sizeBytes).padStart(12)} ${when} ${name}\n`);
  }
  return 0;
}

export async function status(argv: string[]): Promise<number> {
  const { flags } = parseArgs(argv, { usage: `strata status [--json | --metrics] ${VOLUME_USAGE}`, positionals: [], flags: { ...VOLUME_FLAGS, json: 'boolean', metrics: 'boolean' } });
  if (flags.json && flags.metrics) throw new UsageError('--json and --metrics are two different outputs; pick one');
  if (flags.metrics) {
    process.stdout.write((await onVolume(flags, 'metrics')) as string);
    return 0;
  }
  const report = (await onVolume(flags, 'status')) as StatusReport;
  if (flags.json) {
    printJson(report);
    return 0;
  }
  const percent = (rate: number | null) => (rate === null ? 'no reads yet' : `${(rate * 100).toFixed(1)}%`);
  const lines: Array<[string, string]> = [
    ['volume', report.volume],
    ['backend', report.backend],
    ['home', report.home],
    ['mount', report.mounted ? `${report.mountpoint} (pid ${report.pid}, up ${formatDuration(report.uptimeSeconds ?? 0)})` : 'not mounted'],
    ['log', report.logFile ?? (report.mounted ? 'stderr of the mount process (started with --foreground)' : 'none')],
    ['metrics', report.metricsUrl ?? (report.mounted ? 'control socket (strata status --metrics), .stats in the mount' : 'strata status --metrics')],
    ['metadata', `${formatBytes(report.metadataBytes)} on disk, version ${report.metadataVersion}, ${report.historyRecords} history records`],
    ['objects', `${report.objects} (${formatBytes(report.objectBytes)})`],
    ['files', `${report.files} files (${formatBytes(report.fileBytes)}), ${report.directories} directories, ${report.inodes} inodes`],
    ['pins', String(report.pins)],
    ['gc queue', `${report.gcQueue} objects queued, ${report.staged} staged`],
    ['cache', `hit rate ${percent(report.cache.hitRate)} (${report.cache.hits} hits, ${report.cache.misses} misses, ${report.cache.evictions} evictions), ${formatBytes(report.cache.bytes)} held`],
    ['uploads', `${report.uploadsInFlight} in flight, ${formatBytes(report.dirtyBytes)} dirty (limit ${formatBytes(report.dirtyLimitBytes)}), ${report.writebackPending} staged objects not yet in the object store`],
  ];
  for (const [key, value] of lines) process.stdout.write(`${key.padEnd(10)} ${value}\n`);
  return 0;
}

function formatDuration(seconds: number): string {
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.floor(seconds % 60);
  return d > 0 ? `${d}d ${h}h ${m}m` : h > 0 ? `${h}h ${m}m ${s}s` : m > 0 ? `${m}m ${s}s` : `${s}s`;
}
