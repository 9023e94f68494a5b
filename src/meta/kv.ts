// The metadata store boundary. Narrow on purpose: point reads, ordered range scans, one atomic batch
// per mutation (or several riding in one), and reads as of a version. RocksDB implements it today
// (rocks.ts + versioned.ts); a transactional distributed KV (TiKV, FoundationDB) could implement the
// same calls.

export type Mutation = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

export interface Entry {
  key: Buffer;
  value: Buffer;
  /** the version of the commit that wrote this record */
  version: number;
}

export interface ScanOptions {
  /** read as of this version; omitted = the newest */
  atVersion?: number;
  limit?: number;
}

export interface CommitOptions {
  /** wait until the commit is on disk (fsync's promise); otherwise it survives a process crash */
  sync?: boolean;
}

export interface MetaKV {
  /** The version of the newest commit. */
  currentVersion(): number;
  get(key: Buffer, atVersion?: number): Promise<Buffer | undefined>;
  /** Entries with start <= key < end, in key order. */
  scan(start: Buffer, end: Buffer, options?: ScanOptions): Promise<Entry[]>;
  /** Applies every mutation atomically as the next version, which it returns. */
  commit(mutations: Mutation[], options?: CommitOptions): Promise<number>;
  /**
   * Queues mutations to ride with the next commit, made within a few milliseconds; reads of their
   * keys wait for it. `onFailure` hears if that commit fails.
   */
  commitSoon(mutations: Mutation[], onFailure: (err: Error) => void): void;
  /** Resolves once what commitSoon queued is written or failed; `sync` also makes the log durable. */
  settle(options?: CommitOptions): Promise<void>;
  close(): Promise<void>;
}

export interface RawEntry {
  key: Buffer;
  value: Buffer;
}

/** The ordered byte store a MetaKV is built on: what RocksDB gives. */
export interface RawKV {
  get(key: Buffer): Promise<Buffer | undefined>;
  getMany(keys: Buffer[]): Promise<(Buffer | undefined)[]>;
  /** Entries with start <= key < end in key order (reverse: descending), at most `limit`. */
  range(start: Buffer, end: Buffer, options?: { reverse?: boolean; limit?: number }): Promise<RawEntry[]>;
  write(mutations: Mutation[], options: { sync: boolean }): Promise<void>;
  close(): Promise<void>;
}
