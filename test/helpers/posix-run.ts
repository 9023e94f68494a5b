// What the POSIX suites share: where the Python probe and model driver live, running them in child
// processes (the test process never touches a mount itself), and a local reference directory on
// the disk's own filesystem (ext4 here) to compare a mount against.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { makeTempDir } from './tmp.js';

const exec = promisify(execFile);

/** The scripts are run from the source tree: tsc does not copy them into dist/. */
export const PROBE_SCRIPT = fileURLToPath(new URL('../../../test/helpers/posix-probe.py', import.meta.url));
export const MODEL_SCRIPT = fileURLToPath(new URL('../../../test/helpers/posix-model.py', import.meta.url));
export const OWNER_SCRIPT = fileURLToPath(new URL('../../../test/helpers/posix-owner.py', import.meta.url));

/** The system Python: other users can run it (a pyenv shim under /root they could not). */
export const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs a program to completion in a child process; a non-zero exit is returned, not thrown. */
export async function run(file: string, args: string[], options: { timeoutMs?: number; cwd?: string; uid?: number; gid?: number } = {}): Promise<RunResult> {
  try {
    const { stdout, stderr } = await exec(file, args, {
      maxBuffer: 256 * 1024 * 1024, timeout: options.timeoutMs ?? 120_000, cwd: options.cwd, uid: options.uid, gid: options.gid,
    });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const failure = err as { stdout?: string; stderr?: string; code?: number | string; signal?: string };
    const code = typeof failure.code === 'number' ? failure.code : 1;
    const stderr = `${failure.stderr ?? ''}${failure.signal ? `\n(killed by ${failure.signal})` : ''}`;
    return { stdout: failure.stdout ?? '', stderr, code };
  }
}

/** Runs a shell command line in a child process; throws with its stderr when it fails. */
export async function sh(command: string, options: { timeoutMs?: number; cwd?: string } = {}): Promise<string> {
  const result = await run('/bin/sh', ['-c', command], options);
  if (result.code !== 0) throw new Error(`${command} failed (${result.code}): ${result.stderr}${result.stdout.slice(0, 4000)}`);
  return result.stdout;
}

/** A fresh local directory to run the same checks in; it must be on ext4 to be the reference. */
export async function localReferenceDir(label: string): Promise<{ dir: string; fsType: string }> {
  const dir = await makeTempDir(label);
  const fsType = (await sh(`stat -f -c %T '${dir}'`)).trim();
  return { dir, fsType };
}

/** Single-quotes a string for /bin/sh. */
export function quote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
