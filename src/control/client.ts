// The CLI's side of the control socket. `callMount` answers undefined when no mount is listening
// (no socket, or a stale socket file left by a killed mount, which it removes). With `onProgress`,
// it asks for progress lines and hands each to it before the answer arrives.

import { unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { StrataError, type ErrorCode } from '../errors.js';
import type { ProgressReport } from './operations.js';
import type { ControlLine, ControlRequest } from './server.js';

export async function callMount(socketPath: string, request: ControlRequest, onProgress?: ProgressReport): Promise<{ result: unknown } | undefined> {
  const socket = connect(socketPath);
  socket.setEncoding('utf8');
  const connected = await new Promise<boolean>((resolve, reject) => {
    socket.once('connect', () => resolve(true));
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') resolve(false);
      else if (err.code === 'ECONNREFUSED') unlink(socketPath).then(() => resolve(false), () => resolve(false));
      else reject(err);
    });
  });
  if (!connected) return undefined;
  socket.write(JSON.stringify(onProgress ? { ...request, progress: true } : request) + '\n');
  let buffered = '';
  for await (const text of socket) {
    buffered += text as string;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const reply = JSON.parse(buffered.slice(0, newline)) as ControlLine;
      buffered = buffered.slice(newline + 1);
      if ('progress' in reply) {
        onProgress?.(reply.progress.done, reply.progress.total);
        continue;
      }
      socket.end();
      if (!reply.ok) throw new StrataError(reply.code as ErrorCode, reply.message);
      return { result: reply.result };
    }
  }
  throw new StrataError('EIO', `the mount closed its control socket ${socketPath} without answering`);
}
