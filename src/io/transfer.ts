// Whole-file transfers through the library, without a mount: `strata put` streams a local file into
// a volume path as one SDK publish (body digest sha256 of the content); `strata get` streams a
// volume path, as of now or of a pinned version, out to a local file.

import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { once } from 'node:events';
import { IOError, IsDirectory, isStrataError } from '../errors.js';
import { sha256Digest } from '../layout/digest.js';
import { loadBody } from '../meta/body-records.js';
import type { Caller } from '../meta/namespace.js';
import { S_IFDIR, S_IFMT, S_IFREG } from '../meta/records.js';
import type { Volume } from '../volume.js';
import { FileBody } from './file-body.js';

export type Progress = (doneBytes: number, totalBytes: number) => void;

const STREAM_CHUNK_BYTES = 4 * 1024 * 1024;

export async function putFile(volume: Volume, localPath: string, path: string, caller: Caller, progress?: Progress): Promise<{ ino: number; sizeBytes: number; digestUri: string }> {
  const totalBytes = (await stat(localPath)).size;
  const ns = volume.namespace;
  const { parent, name } = await ns.resolveParent(path);
  const existing = await ns.lookup(parent.ino, name).catch((err: unknown) => {
    if (isStrataError(err, 'ENOENT')) return undefined;
    throw err;
  });
  const inode = existing ? await ns.getattr(existing.ino) : await ns.create(parent.ino, name, 0o644, caller);
  if ((inode.mode & S_IFMT) === S_IFDIR) throw IsDirectory(`${path} is a directory`);
  const body = await volume.files.acquire(inode.ino);
  const hash = createHash('sha256');
  let offset = 0;
  try {
    await body.truncate(0);
    for await (const chunk of createReadStream(localPath, { highWaterMark: STREAM_CHUNK_BYTES })) {
      const bytes = chunk as Buffer;
      hash.update(bytes);
      body.write(offset, bytes);
      offset += bytes.length;
      progress?.(offset, totalBytes);
      await body.drain();
    }
    const digestUri = sha256Digest(hash);
    await body.publish({ producer: 'sdk', digestUri, sync: true });
    return { ino: inode.ino, sizeBytes: offset, digestUri };
  } finally {
    await volume.files.release(inode.ino);
  }
}

export async function getFile(volume: Volume, path: string, localPath: string, options: { atVersion?: number; progress?: Progress } = {}): Promise<{ sizeBytes: number; digestUri: string }> {
  const inode = await volume.namespace.resolve(path, options.atVersion);
  if ((inode.mode & S_IFMT) !== S_IFREG) throw IsDirectory(`${path} is not a regular file`);
  const body = await FileBody.load(volume.bodyContext, inode, options.atVersion);
  const descriptor = await loadBody(volume.kv, inode.ino, options.atVersion);
  const out = createWriteStream(localPath);
  const hash = createHash('sha256');
  let offset = 0;
  try {
    while (offset < inode.sizeBytes) {
      const bytes = await body.read(offset, STREAM_CHUNK_BYTES);
      if (bytes.length === 0) break;
      hash.update(bytes);
      if (!out.write(bytes)) await once(out, 'drain');
      offset += bytes.length;
      options.progress?.(offset, inode.sizeBytes);
    }
  } finally {
    out.end();
    await once(out, 'close');
  }
  const digestUri = sha256Digest(hash);
  if (descriptor?.producer === 'sdk' && descriptor.digestUri !== digestUri) {
    throw IOError(`${path}: content digest ${digestUri} does not match the published ${descriptor.digestUri}`);
  }
  return { sizeBytes: offset, digestUri };
}
