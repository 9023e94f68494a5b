// strata put <local> <path> / strata get <path> <local> [--snapshot <name>]: whole-file transfers
// through the library (on the live mount's volume when one runs), with a progress bar on a terminal.

import { resolve } from 'node:path';
import { parseArgs } from './args.js';
import { onVolume, printJson, VOLUME_FLAGS, VOLUME_USAGE, withProgress } from './common.js';

/** Files smaller than one block finish before a bar would be worth drawing. */
const BAR_MIN_BYTES = 4 * 1024 * 1024;

export async function put(argv: string[]): Promise<number> {
  const { positionals, flags } = parseArgs(argv, { usage: `strata put <local-file> <path> ${VOLUME_USAGE}`, positionals: ['local-file', 'path'], flags: VOLUME_FLAGS });
  const [local, path] = positionals as [string, string];
  const args = { local: resolve(local), path, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  const result = await withProgress(`put ${path}`, 'bytes', BAR_MIN_BYTES, (progress) => onVolume(flags, 'put', args, progress));
  printJson(result);
  return 0;
}

export async function get(argv: string[]): Promise<number> {
  const { positionals, flags } = parseArgs(argv, {
    usage: `strata get <path> <local-file> [--snapshot <name>] ${VOLUME_USAGE}`,
    positionals: ['path', 'local-file'],
    flags: { ...VOLUME_FLAGS, snapshot: 'string' },
  });
  const [path, local] = positionals as [string, string];
  const args = { path, local: resolve(local), snapshot: flags.snapshot };
  const result = await withProgress(`get ${path}`, 'bytes', BAR_MIN_BYTES, (progress) => onVolume(flags, 'get', args, progress));
  printJson(result);
  return 0;
}
