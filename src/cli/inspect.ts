// strata stat <path> (descriptor and manifests), strata ls <path>, strata status.

import { S_IFMT, type Inode } from '../meta/records.js';
import { parseArgs } from './args.js';
import { onVolume, printJson, VOLUME_FLAGS, VOLUME_USAGE } from './common.js';

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
  const { flags } = parseArgs(argv, { usage: `strata status [--json] ${VOLUME_USAGE}`, positionals: [], flags: { ...VOLUME_FLAGS, json: 'boolean' } });
  const report = (await onVolume(flags, 'status')) as Record<string, unknown>;
  if (flags.json) {
    printJson(report);
    return 0;
  }
  for (const [key, value] of Object.entries(report)) {
    process.stdout.write(`${key.padEnd(16)} ${typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value)}\n`);
  }
  return 0;
}
