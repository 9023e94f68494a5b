// Synchronous file-system calls for the file backend, run by a worker thread. An asynchronous write
// of a small file is five or six trips through libuv's thread pool and the main thread's event loop
// (mkdir, open, write, close, rename), and under a busy mount each trip waits its turn: one message
// to a worker and one back costs a fraction of that. A flush holds its thread until the disk has the
// data, so it gets a worker of its own and leaves the thread pool free.

import { Worker } from 'node:worker_threads';

export type FsRequest =
  | { kind: 'write'; id: number; dir: string; makeDir: boolean; tempPath: string; path: string; body: Uint8Array }
  | { kind: 'flush'; id: number; path: string };

export interface FsReply {
  id: number;
  error?: { message: string; code?: string };
}

/** A request before it is numbered. */
type Unnumbered<R> = R extends unknown ? Omit<R, 'id'> : never;

export class FsWorker {
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();

  constructor(private readonly name: string) {}

  /** Writes `body` to `tempPath` (a new file; its folder `dir` too when `makeDir`) and renames it to `path`. */
  write(dir: string, makeDir: boolean, tempPath: string, path: string, body: Uint8Array): Promise<void> {
    // A view is cloned with its whole backing buffer (a 4 MiB pool block): send an exact copy instead.
    const exact = new Uint8Array(body);
    return this.send({ kind: 'write', dir, makeDir, tempPath, path, body: exact }, [exact.buffer]);
  }

  /** Waits until the file at `path` has its data on disk (fdatasync). */
  flush(path: string): Promise<void> {
    return this.send({ kind: 'flush', path }, []);
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }

  private send(request: Unnumbered<FsRequest>, transfer: ArrayBuffer[]): Promise<void> {
    const worker = this.started();
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // Only while a request waits does the worker keep the process alive.
      if (this.pending.size === 1) worker.ref();
      worker.postMessage({ ...request, id }, transfer);
    });
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./fs-worker-thread.js', import.meta.url));
    worker.unref();
    worker.on('message', (reply: FsReply) => this.settle(reply));
    worker.on('error', (err) => this.failAll(err));
    worker.on('exit', (code) => {
      if (this.worker === worker) this.worker = undefined;
      this.failAll(new Error(`the ${this.name} worker exited with code ${code}`));
    });
    this.worker = worker;
    return worker;
  }

  private settle(reply: FsReply): void {
    const waiter = this.pending.get(reply.id);
    if (!waiter) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker?.unref();
    if (!reply.error) return waiter.resolve();
    waiter.reject(Object.assign(new Error(reply.error.message), { code: reply.error.code }));
  }

  private failAll(err: Error): void {
    const waiters = [...this.pending.values()];
    this.pending.clear();
    for (const waiter of waiters) waiter.reject(err);
  }
}
