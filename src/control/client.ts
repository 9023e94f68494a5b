// The CLI's side of the control socket. `callMount` answers undefined when no mount is listening
// (no socket, or a stale socket file left by a killed mount, which it removes).

import { unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { StrataError, type ErrorCode } from '../errors.js';
import type { ControlAnswer, ControlRequest } from './server.js';

export async function callMount(socketPath: string, request: ControlRequest): Promise<{ result: unknown } | undefined> {
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
  socket.write(JSON.stringify(request) + '\n');
  let buffered = '';
  for await (const text of socket) {
    buffered += text as string;
    const newline = buffered.indexOf('\n');
    if (newline < 0) continue;
    socket.end();
    const reply = JSON.parse(buffered.slice(0, newline)) as ControlAnswer;
    if (!reply.ok) throw new StrataError(reply.code as ErrorCode, reply.message);
    return { result: reply.result };
  }
  throw new StrataError('EIO', `the mount closed its control socket ${socketPath} without answering`);
}
