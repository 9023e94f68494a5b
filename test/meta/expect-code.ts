// Asserting that an engine call fails with a given typed error code (the errno a user would see).

import * as assert from 'uvu/assert';
import { isStrataError, type ErrorCode } from '../../src/errors.js';

/**
 * Runs `work`, asserting it fails with `code`. A synchronous throw counts as a failure too, so the
 * assertion holds whether the engine rejects its promise or throws before returning one.
 */
export async function expectCode(work: () => Promise<unknown>, code: ErrorCode, what = ''): Promise<void> {
  try {
    await work();
  } catch (err) {
    assert.ok(isStrataError(err, code), `${what ? what + ': ' : ''}expected ${code}, got ${String(err)}`);
    return;
  }
  assert.unreachable(`${what ? what + ': ' : ''}expected ${code}, but it succeeded`);
}
