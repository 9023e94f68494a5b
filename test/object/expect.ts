// Asserting on the engine's typed errors: the code a caller branches on and the names a user reads.

import * as assert from 'uvu/assert';
import { isStrataError, type ErrorCode } from '../../src/errors.js';

/** Awaits `promise`, asserting it fails with `code` and a message mentioning each of `mentions`. */
export async function expectError(promise: Promise<unknown>, code: ErrorCode, ...mentions: string[]): Promise<void> {
  try {
    await promise;
  } catch (err) {
    assert.ok(isStrataError(err, code), `expected ${code}, got ${String(err)}`);
    for (const text of mentions) {
      assert.ok(err.message.includes(text), `"${err.message}" should mention ${text}`);
    }
    return;
  }
  assert.unreachable(`expected ${code}`);
}
