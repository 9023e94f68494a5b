#!/usr/bin/env node
// The strata command: dispatches to one module per command. Usage errors exit 2, failures exit 1,
// and `strata <command> --help` prints that command's usage.

import { StrataError } from '../errors.js';
import { HelpRequested, isHelpFlag, UsageError } from './args.js';

type Command = (argv: string[]) => Promise<number>;

/** Each command's module loads only when it runs: `strata status` never loads FUSE, `strata doctor` no volume. */
const commands: Record<string, () => Promise<Command>> = {
  mount: async () => (await import('./mount.js')).mount,
  umount: async () => (await import('./mount.js')).umount,
  put: async () => (await import('./transfer.js')).put,
  get: async () => (await import('./transfer.js')).get,
  stat: async () => (await import('./inspect.js')).stat,
  ls: async () => (await import('./inspect.js')).ls,
  status: async () => (await import('./inspect.js')).status,
  snapshot: async () => (await import('./snapshot.js')).snapshot,
  gc: async () => (await import('./gc.js')).gc,
  fsck: async () => (await import('./gc.js')).fsckCommand,
  doctor: async () => (await import('./doctor.js')).doctor,
};

const HELP = `strata: a POSIX filesystem on an object store

  strata mount <dir> [options]       mount a volume (detaches; --foreground stays)
  strata umount <dir>                publish, stop and unmount
  strata put <local> <path>          upload a file into the volume
  strata get <path> <local>          download a file [--snapshot <name>]
  strata ls [<path>]                 list a directory [--snapshot <name>]
  strata stat <path>                 body descriptor and chunk manifests of a file
  strata status [--json|--metrics]   volume, backend, sizes, pins, GC queue, cache; Prometheus text
  strata snapshot pin|list|retire    snapshot pins
  strata gc [--grace 1h] [--dry-run] collect unreachable objects and old history now
  strata fsck [--repair]             check every block; find leaked objects
  strata doctor                      check FUSE, the volume's home and its object store

Common options: --volume <name> (default "default"), --home <dir> (default $STRATA_HOME or ~/.strata)
`;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || isHelpFlag(name) || name === 'help') {
    process.stdout.write(HELP);
    return name === undefined ? 2 : 0;
  }
  const load = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!load) throw new UsageError(`unknown command ${JSON.stringify(name)}\n\n${HELP}`);
  return (await load())(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof HelpRequested) {
      process.stdout.write(`usage: ${err.usage}\n`);
      process.exitCode = 0;
    } else if (err instanceof UsageError) {
      process.stderr.write(`strata: ${err.message}\n`);
      process.exitCode = 2;
    } else {
      const text = err instanceof StrataError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err);
      process.stderr.write(`strata: ${text}\n`);
      process.exitCode = 1;
    }
  },
);
