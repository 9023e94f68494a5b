// Where a volume keeps its local state: $STRATA_HOME/<volume>/ (default ~/.strata/default).
//   meta/          RocksDB
//   objects/       the file backend's objects (when the backend is `file`)
//   staging/       objects written in write-back mode and not yet uploaded (small ones are in meta/)
//   volume.json    the volume's object-store configuration, written when it is created
//   control.sock   the live mount's control socket (0600)
//   mount.json     pid and mount point of the live mount
//   strata.log     the log of a detached mount

import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export interface VolumePaths {
  root: string;
  metaDir: string;
  objectsDir: string;
  stagingDir: string;
  configFile: string;
  socket: string;
  mountInfo: string;
  logFile: string;
}

export function defaultHome(): string {
  return process.env.STRATA_HOME ?? join(homedir(), '.strata');
}

export function volumePaths(home: string, volume: string): VolumePaths {
  const root = resolve(home, volume);
  return {
    root,
    metaDir: join(root, 'meta'),
    objectsDir: join(root, 'objects'),
    stagingDir: join(root, 'staging'),
    configFile: join(root, 'volume.json'),
    socket: join(root, 'control.sock'),
    mountInfo: join(root, 'mount.json'),
    logFile: join(root, 'strata.log'),
  };
}
