// What the CLI can ask of a volume, by name. A live mount serves these on its control socket; with
// no mount running, the CLI opens the volume and runs the same functions itself.

import { Invalid } from '../errors.js';
import { loadBody, loadManifests } from '../meta/body-records.js';
import { keys } from '../meta/keys.js';
import { fsck } from '../gc/fsck.js';
import { runGc } from '../gc/run.js';
import { getFile, putFile } from '../io/transfer.js';
import { findPin, listPins, pinSnapshot, retireSnapshot } from '../snapshot/pins.js';
import type { Volume } from '../volume.js';

export interface OperationContext {
  volume: Volume;
  mountpoint?: string;
  startedAtMs?: number;
}

type Operation = (ctx: OperationContext, args: Record<string, unknown>) => Promise<unknown>;

function stringArg(args: Record<string, unknown>, name: string): string {
  const value = args[name];
  if (typeof value !== 'string') throw Invalid(`request needs a string "${name}"`);
  return value;
}

async function countRecords(volume: Volume, space: 'Q' | 'S' | 'P' | 'I'): Promise<number> {
  const [start, end] = keys.spaceRange(space);
  return (await volume.kv.scan(start, end)).length;
}

export const operations: Record<string, Operation> = {
  'snapshot.pin': ({ volume }, args) => pinSnapshot(volume, stringArg(args, 'name')),
  'snapshot.list': ({ volume }) => listPins(volume),
  'snapshot.retire': ({ volume }, args) => retireSnapshot(volume, stringArg(args, 'name')),

  put: ({ volume }, args) =>
    putFile(volume, stringArg(args, 'local'), stringArg(args, 'path'), { uid: Number(args.uid ?? 0), gid: Number(args.gid ?? 0) }),

  get: async ({ volume }, args) => {
    const snapshot = args.snapshot === undefined ? undefined : await findPin(volume, stringArg(args, 'snapshot'));
    return getFile(volume, stringArg(args, 'path'), stringArg(args, 'local'), { atVersion: snapshot?.version });
  },

  gc: ({ volume }, args) => runGc(volume, { graceMs: Number(args.graceMs ?? 3_600_000), dryRun: args.dryRun === true }),
  fsck: ({ volume }, args) => fsck(volume, { repair: args.repair === true }),

  stat: async ({ volume }, args) => {
    const snapshot = args.snapshot === undefined ? undefined : await findPin(volume, stringArg(args, 'snapshot'));
    const atVersion = snapshot?.version;
    const inode = await volume.namespace.resolve(stringArg(args, 'path'), atVersion);
    const manifests = [...(await loadManifests(volume.kv, inode.ino, atVersion)).values()];
    return { inode, descriptor: (await loadBody(volume.kv, inode.ino, atVersion)) ?? null, manifests };
  },

  ls: async ({ volume }, args) => {
    const snapshot = args.snapshot === undefined ? undefined : await findPin(volume, stringArg(args, 'snapshot'));
    const dir = await volume.namespace.resolve(stringArg(args, 'path'), snapshot?.version);
    const entries = await volume.namespace.readdir(dir.ino, { atVersion: snapshot?.version });
    return Promise.all(entries.map(async (entry) => ({ ...entry, inode: await volume.namespace.getattr(entry.ino, snapshot?.version) })));
  },

  status: async ({ volume, mountpoint, startedAtMs }) => {
    const cache = volume.cache.currentStats();
    let objects = 0;
    let objectBytes = 0;
    for await (const info of volume.store.list('blocks/')) {
      objects += 1;
      objectBytes += info.sizeBytes;
    }
    const usage = await volume.namespace.usage();
    return {
      volume: volume.name,
      backend: volume.store.description,
      home: volume.paths.root,
      mountpoint: mountpoint ?? null,
      uptimeSeconds: startedAtMs ? Math.round((Date.now() - startedAtMs) / 1000) : null,
      metadataVersion: volume.kv.currentVersion(),
      inodes: usage.inodes,
      fileBytes: usage.bytes,
      objects,
      objectBytes,
      pins: await countRecords(volume, 'P'),
      gcQueue: await countRecords(volume, 'Q'),
      staged: await countRecords(volume, 'S'),
      cache: { ...cache, hitRate: cache.hits + cache.misses === 0 ? null : cache.hits / (cache.hits + cache.misses) },
      uploadsInFlight: volume.bodyContext.uploads.inFlight,
      logFile: mountpoint ? volume.paths.logFile : null,
    };
  },
};

export function runOperation(ctx: OperationContext, name: string, args: Record<string, unknown>): Promise<unknown> {
  const operation = operations[name];
  if (!operation) return Promise.reject(Invalid(`unknown control operation ${JSON.stringify(name)}`));
  return operation(ctx, args);
}
