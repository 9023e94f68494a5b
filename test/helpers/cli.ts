// Runs the strata CLI for tests: as a plain child (stdout and stderr are pipes, not a terminal), or
// inside `script` so that it gets a pseudo-terminal the way a user's shell would give it one. Also
// stops a detached mount left by `strata mount` without --foreground.

import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { STRATA_BIN } from './mount.js';

const exec = promisify(execFile);

export interface Ran {
  stdout: string;
  stderr: string;
  code: number;
}

export interface RunOptions {
  env?: Record<string, string>;
  cwd?: string;
  allowFailure?: boolean;
}

async function runFile(file: string, args: string[], options: RunOptions): Promise<Ran> {
  try {
    const { stdout, stderr } = await exec(file, args, { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...options.env }, cwd: options.cwd });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const failure = err as { stdout?: string; stderr?: string; code?: number | string };
    if (!options.allowFailure) throw new Error(`${file} ${args.join(' ')} failed (${failure.code}):\n${failure.stdout ?? ''}${failure.stderr ?? ''}`);
    return { stdout: failure.stdout ?? '', stderr: failure.stderr ?? '', code: typeof failure.code === 'number' ? failure.code : 1 };
  }
}

/** `strata <args>` with pipes for stdout and stderr. */
export function strata(args: string[], options: RunOptions = {}): Promise<Ran> {
  return runFile(process.execPath, [STRATA_BIN, ...args], options);
}

/** A shell command line on a pseudo-terminal (util-linux `script`); stdout holds everything it drew. */
export function inTerminal(commandLine: string, options: RunOptions = {}): Promise<Ran> {
  return runFile('script', ['-qec', commandLine, '/dev/null'], options);
}

/** `strata <args>` as a shell word list, for inTerminal. */
export function strataCommandLine(args: string[]): string {
  return [process.execPath, STRATA_BIN, ...args].map((word) => `'${word.replace(/'/g, `'\\''`)}'`).join(' ');
}

/** A TCP port on 127.0.0.1 that nothing listened on a moment ago. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Stops whatever detached mount of `volume` in `home` is still running, and detaches `mountpoint`. */
export async function stopDetachedMount(home: string, mountpoint: string, volume = 'default'): Promise<void> {
  const info = await readFile(join(home, volume, 'mount.json'), 'utf8').then((text) => JSON.parse(text) as { pid: number }).catch(() => undefined);
  if (info) {
    try {
      process.kill(info.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    for (let waitedMs = 0; waitedMs < 30_000; waitedMs += 100) {
      try {
        process.kill(info.pid, 0);
      } catch {
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const mounts = await readFile('/proc/mounts', 'utf8');
  if (mounts.split('\n').some((line) => line.split(' ')[1] === mountpoint)) {
    await exec('fusermount', ['-uz', mountpoint]).catch(() => exec('umount', ['-l', mountpoint]).catch(() => undefined));
  }
}

/** The JSON log lines in `text`; any other line fails the caller's assertions with its text. */
export function logLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`not a JSON log line: ${line}`);
      }
    });
}
