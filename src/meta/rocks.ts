// RocksDB as the RawKV under the versioned metadata store. Owns the database directory and its lock;
// a second process opening the same volume gets a clear error naming the holder (see volume-lock.ts).

import RocksDB from 'rocksdb';
import type { Mutation, RawEntry, RawKV } from './kv.js';
import { IOError, NoSpace } from '../errors.js';
import { immediateWriterFor, type ImmediateWriter } from './rocks-immediate.js';

type Callback<T> = (err: Error | undefined | null, value?: T) => void;

interface NativeIterator {
  next(cb: (err: Error | undefined, key?: Buffer, value?: Buffer) => void): void;
  end(cb: (err?: Error) => void): void;
}

interface NativeDb {
  /** the package's native database handle */
  context: unknown;
  open(options: object, cb: Callback<void>): void;
  close(cb: Callback<void>): void;
  get(key: Buffer, options: object, cb: Callback<Buffer>): void;
  getMany(keys: Buffer[], options: object, cb: Callback<(Buffer | undefined)[]>): void;
  batch(ops: object[], options: object, cb: Callback<void>): void;
  iterator(options: object): NativeIterator;
}

function wrapError(what: string, err: Error): Error {
  if (/No space left/i.test(err.message)) return NoSpace(`metadata ${what} failed: disk full (${err.message})`, err);
  return IOError(`metadata ${what} failed: ${err.message}`, err);
}

export class RocksRawKV implements RawKV {
  private readonly immediate: ImmediateWriter | null;

  private constructor(private readonly db: NativeDb, readonly location: string) {
    this.immediate = immediateWriterFor(db.context);
  }

  /** Writes that need not sync: made on the calling thread, and refused there (then made by the pool). */
  readonly immediateWrites = { made: 0, refused: 0 };

  /** Whether writes that need not sync are made on the calling thread (see rocks-immediate.ts). */
  get writesImmediately(): boolean {
    return this.immediate !== null;
  }

  static async open(location: string): Promise<RocksRawKV> {
    const db = (RocksDB as unknown as (location: string) => NativeDb)(location);
    await new Promise<void>((resolve, reject) =>
      db.open({ createIfMissing: true, errorIfExists: false }, (err) => (err ? reject(err) : resolve())),
    );
    return new RocksRawKV(db, location);
  }

  get(key: Buffer): Promise<Buffer | undefined> {
    return new Promise((resolve, reject) =>
      this.db.get(key, { asBuffer: true, fillCache: true }, (err, value) => {
        if (err) {
          if (/NotFound/i.test(err.message)) resolve(undefined);
          else reject(wrapError('read', err));
        } else resolve(value);
      }),
    );
  }

  getMany(keys: Buffer[]): Promise<(Buffer | undefined)[]> {
    if (keys.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) =>
      this.db.getMany(keys, { asBuffer: true, fillCache: true }, (err, values) =>
        err ? reject(wrapError('read', err)) : resolve(values!),
      ),
    );
  }

  range(start: Buffer, end: Buffer, options: { reverse?: boolean; limit?: number } = {}): Promise<RawEntry[]> {
    const iterator = this.db.iterator({
      gte: start,
      lt: end,
      reverse: options.reverse ?? false,
      limit: options.limit ?? -1,
      keyAsBuffer: true,
      valueAsBuffer: true,
      fillCache: true,
    });
    const entries: RawEntry[] = [];
    return new Promise((resolve, reject) => {
      const finish = (err?: Error) =>
        iterator.end((endErr) => {
          const failure = err ?? endErr;
          if (failure) reject(wrapError('scan', failure));
          else resolve(entries);
        });
      const step = () =>
        iterator.next((err, key, value) => {
          if (err) return finish(err);
          if (key === undefined) return finish();
          entries.push({ key, value: value! });
          step();
        });
      step();
    });
  }

  write(mutations: Mutation[], options: { sync: boolean }): Promise<void> {
    if (!options.sync && this.immediate) {
      try {
        if (this.immediate.write(mutations)) {
          this.immediateWrites.made++;
          return Promise.resolve();
        }
      } catch (err) {
        return Promise.reject(wrapError('commit', err as Error));
      }
      this.immediateWrites.refused++;
    }
    // A sync write, or one refused on this thread: the pool waits out a stall, and words an error.
    const ops = mutations.map((m) => (m.type === 'put' ? { type: 'put', key: m.key, value: m.value } : { type: 'del', key: m.key }));
    return new Promise((resolve, reject) =>
      this.db.batch(ops, { sync: options.sync }, (err) => (err ? reject(wrapError('commit', err)) : resolve())),
    );
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => this.db.close((err) => (err ? reject(wrapError('close', err)) : resolve())));
  }
}
