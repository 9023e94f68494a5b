#!/usr/bin/env node
// The strata command: dispatches to one module per command. Usage errors exit 2, failures exit 1.

import { StrataError } from '../errors.js';
import { UsageError } from './args.js';
import { fsckCommand, gc } from './gc.js';
import { ls, stat, status } from './inspect.js';
import { mount, umount } from './mount.js';
import { snapshot } from './snapshot.js';
import { get, put } from './transfer.js';

const commands: Record<string, (argv: string[]) => Promise<number>> = { mount, umount, put, get, stat, ls, status, snapshot, gc, fsck: fsckCommand };

const HELP = `strata: a POSIX filesystem on an object store

  strata mount <dir> [options]       mount a volume (detaches; --foreground stays)
  strata umount <dir>                publish, stop and unmount
  strata put <local> <path>          upload a file into the volume
  strata get <path> <local>          download a file [--snapshot <name>]
  strata ls [<path>]                 list a directory [--snapshot <name>]
  strata stat <path>                 body descriptor and chunk manifests of a file
  strata status                      volume, backend, sizes, pins, GC queue, cache
  strata snapshot pin|list|retire    snapshot pins
  strata gc [--grace 1h] [--dry-run] collect unreachable objects and old history now
  strata fsck [--repair]             check every block; find leaked objects

Common options: --volume <name> (default "default"), --home <dir> (default $STRATA_HOME or ~/.strata)
`;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(HELP);
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (!command) throw new UsageError(`unknown command ${JSON.stringify(name)}\n\n${HELP}`);
  return command(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`strata: ${err.message}\n`);
      process.exitCode = 2;
    } else {
      const text = err instanceof StrataError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err);
      process.stderr.write(`strata: ${text}\n`);
      process.exitCode = 1;
    }
  },
);
