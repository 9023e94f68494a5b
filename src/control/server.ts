// The live mount's control socket: one JSON request per line, one JSON answer per line. The socket
// file is mode 0600 in the volume's home, so only the volume's owner can talk to the mount.

import { chmod, unlink } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { StrataError } from '../errors.js';
import { runOperation, type OperationContext } from './operations.js';

const MAX_REQUEST_BYTES = 64 * 1024;

export interface ControlRequest {
  op: string;
  args?: Record<string, unknown>;
}

export type ControlAnswer = { ok: true; result: unknown } | { ok: false; code: string; message: string };

export async function serveControl(socketPath: string, ctx: OperationContext): Promise<Server> {
  await unlink(socketPath).catch(() => undefined);
  const server = createServer((socket) => {
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => {
      buffered += text;
      if (buffered.length > MAX_REQUEST_BYTES) {
        socket.end(JSON.stringify({ ok: false, code: 'EINVAL', message: 'request too large' }) + '\n');
        return;
      }
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        answer(line, ctx).then((reply) => socket.write(JSON.stringify(reply) + '\n'));
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  await chmod(socketPath, 0o600);
  return server;
}

async function answer(line: string, ctx: OperationContext): Promise<ControlAnswer> {
  let request: ControlRequest;
  try {
    request = JSON.parse(line) as ControlRequest;
    if (typeof request !== 'object' || request === null || typeof request.op !== 'string') throw new Error('no "op"');
  } catch (err) {
    return { ok: false, code: 'EINVAL', message: `malformed control request: ${(err as Error).message}` };
  }
  try {
    return { ok: true, result: await runOperation(ctx, request.op, request.args ?? {}) };
  } catch (err) {
    return { ok: false, code: err instanceof StrataError ? err.code : 'EIO', message: err instanceof Error ? err.message : String(err) };
  }
}
