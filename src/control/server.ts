// The live mount's control socket: one JSON request per line, one JSON answer per line. A request
// that asks for progress (`"progress": true`) may first get lines `{"progress":{"done":..,"total":..}}`
// while the operation runs. The socket file is mode 0600 in the volume's home, so only the volume's
// owner can talk to the mount.

import { chmod, unlink } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { codeOf } from '../errors.js';
import { log } from '../log.js';
import { objectKeyOf } from '../object/metered.js';
import { runOperation, type OperationContext, type ProgressReport } from './operations.js';

const MAX_REQUEST_BYTES = 64 * 1024;
/** Progress lines are sent at most this often (and always at the end). */
const PROGRESS_INTERVAL_MS = 100;

export interface ControlRequest {
  op: string;
  args?: Record<string, unknown>;
  /** stream progress lines before the answer */
  progress?: boolean;
}

export type ControlAnswer = { ok: true; result: unknown } | { ok: false; code: string; message: string };
export type ControlLine = ControlAnswer | { progress: { done: number; total: number } };

export async function serveControl(socketPath: string, ctx: OperationContext): Promise<Server> {
  await unlink(socketPath).catch(() => undefined);
  const server = createServer((socket) => {
    let buffered = '';
    let refused = false;
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => {
      if (refused) return;
      buffered += text;
      if (buffered.length > MAX_REQUEST_BYTES) {
        refused = true;
        buffered = '';
        socket.end(JSON.stringify({ ok: false, code: 'EINVAL', message: `request too large (over ${MAX_REQUEST_BYTES} bytes without a newline)` }) + '\n');
        return;
      }
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        answer(line, ctx, socket).then((reply) => send(socket, reply)).catch(() => undefined);
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

/** Writes one answer line; an answer that cannot be serialized becomes an error answer, never a crash. */
function send(socket: Socket, reply: ControlAnswer): void {
  let line: string;
  try {
    line = JSON.stringify(reply);
  } catch (err) {
    line = JSON.stringify({ ok: false, code: 'EIO', message: `the answer could not be encoded: ${(err as Error).message}` });
  }
  if (!socket.destroyed) socket.write(line + '\n');
}

function progressLines(socket: Socket): ProgressReport {
  let lastMs = 0;
  return (done, total) => {
    const now = Date.now();
    if (done < total && now - lastMs < PROGRESS_INTERVAL_MS) return;
    lastMs = now;
    if (!socket.destroyed) socket.write(JSON.stringify({ progress: { done, total } }) + '\n');
  };
}

async function answer(line: string, ctx: OperationContext, socket: Socket): Promise<ControlAnswer> {
  let request: ControlRequest;
  try {
    request = JSON.parse(line) as ControlRequest;
    if (typeof request !== 'object' || request === null || typeof request.op !== 'string') throw new Error('no "op"');
  } catch (err) {
    return { ok: false, code: 'EINVAL', message: `malformed control request: ${(err as Error).message}` };
  }
  const startedMs = Date.now();
  try {
    const opCtx = request.progress === true ? { ...ctx, progress: progressLines(socket) } : ctx;
    const result = await runOperation(opCtx, request.op, request.args ?? {});
    log('debug', 'control request', { op: request.op, ms: Date.now() - startedMs });
    return { ok: true, result };
  } catch (err) {
    const code = codeOf(err);
    const message = err instanceof Error ? err.message : String(err);
    log(code === 'EIO' ? 'error' : 'debug', 'control request failed', { op: request.op, path: request.args?.path ?? null, key: objectKeyOf(err) ?? null, ms: Date.now() - startedMs, code, cause: message });
    return { ok: false, code, message };
  }
}
