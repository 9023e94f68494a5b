// Which object keys, list prefixes and byte ranges a backend accepts. Keys are '/'-separated
// relative paths such as `blocks/v/1/2/0/0`; the file backend maps them onto folders, so a key must
// never be able to name something outside the store's root.

import { Invalid } from '../errors.js';
import type { ByteRange } from './store.js';

function badSegment(segment: string): boolean {
  return segment === '' || segment === '.' || segment === '..';
}

/** Throws `Invalid` unless `key` is a non-empty relative path without empty, `.` or `..` segments. */
export function assertValidKey(key: string): void {
  if (key.includes('\0') || key.split('/').some(badSegment)) {
    throw Invalid(`invalid object key ${JSON.stringify(key)}`);
  }
}

/**
 * Throws `Invalid` unless `prefix` is '' or a valid key's leading part. Only the folder part is
 * checked: the last segment is matched as a string prefix (`blocks/v/1` matches `blocks/v/12/...`).
 */
export function assertValidPrefix(prefix: string): void {
  const folders = prefix.split('/').slice(0, -1);
  if (prefix.includes('\0') || folders.some(badSegment)) {
    throw Invalid(`invalid object key prefix ${JSON.stringify(prefix)}`);
  }
}

export function assertValidRange(key: string, range: ByteRange): void {
  const ok = (n: number) => Number.isSafeInteger(n) && n >= 0;
  if (!ok(range.offset) || !ok(range.length)) {
    throw Invalid(`invalid byte range ${JSON.stringify(range)} for object ${key}`);
  }
}

/** S3 orders keys by their UTF-8 bytes; every store lists in that order. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
