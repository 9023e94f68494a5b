// The worker thread behind FsWorker: each request is a few synchronous file-system calls, run here
// so that the mount's main thread never blocks on them.

import { closeSync, fdatasyncSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import type { FsReply, FsRequest } from './fs-worker.js';

function perform(request: FsRequest): void {
  if (request.kind === 'flush') {
    const fd = openSync(request.path, 'r');
    try {
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return;
  }
  if (request.makeDir) mkdirSync(request.dir, { recursive: true });
  const fd = openSync(request.tempPath, 'wx');
  try {
    for (let written = 0; written < request.body.length; ) written += writeSync(fd, request.body, written);
  } finally {
    closeSync(fd);
  }
  renameSync(request.tempPath, request.path);
}

parentPort!.on('message', (request: FsRequest) => {
  let reply: FsReply;
  try {
    perform(request);
    reply = { id: request.id };
  } catch (err) {
    const failure = err as NodeJS.ErrnoException;
    reply = { id: request.id, error: { message: failure.message, code: failure.code } };
  }
  parentPort!.postMessage(reply);
});
