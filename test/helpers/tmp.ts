// Temporary folders for tests: unique per call, removed by the test that made them.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function makeTempDir(label: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `strata-${label}-`));
}

export async function removeDir(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}
