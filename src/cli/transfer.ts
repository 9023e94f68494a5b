// strata put <local> <path> / strata get <path> <local> [--snapshot <name>]: whole-file transfers
// through the library, without a mount.

import { resolve } from 'node:path';
import { parseArgs } from './args.js';
import { onVolume, printJson, VOLUME_FLAGS, VOLUME_USAGE } from './common.js';

export async function put(argv: string[]): Promise<number> {
  const { positionals, flags } = parseArgs(argv, { usage: `strata put <local-file> <path> ${VOLUME_USAGE}`, positionals: ['local-file', 'path'], flags: VOLUME_FLAGS });
  const [local, path] = positionals as [string, string];
  const result = await onVolume(flags, 'put', { local: resolve(local), path, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 });
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
  const result = await onVolume(flags, 'get', { path, local: resolve(local), snapshot: flags.snapshot });
  printJson(result);
  return 0;
}
