// Mounts a Strata volume for a test: `strata mount --foreground` in a child process (the test
// process never blocks a mount it serves), waits until the kernel lists it, and always unmounts.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { mountTypeAt } from '../../mount/proc-mounts.js';
import { makeTempDir, removeDir } from './tmp.js';

const exec = promisify(execFile);

export const STRATA_BIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface TestMount {
  mountpoint: string;
  home: string;
  /** the mount process's log so far */
  log(): string;
  /** runs `strata <args>` against this mount's volume */
  strata(args: string[], options?: { allowFailure?: boolean }): Promise<{ stdout: string; stderr: string; code: number }>;
  /** runs a shell command line in a child process (never in the test process) */
  sh(command: string, options?: { allowFailure?: boolean; uid?: number; gid?: number }): Promise<{ stdout: string; stderr: string; code: number }>;
  /** stops the mount cleanly (strata's SIGTERM path) and leaves the volume for a remount */
  unmount(): Promise<void>;
  /** mounts the same volume again at the same place */
  remount(extraArgs?: string[]): Promise<void>;
  /** unmounts if still mounted and removes the volume's files */
  cleanup(): Promise<void>;
  /** the pid of the running mount process, if any */
  pid(): number | undefined;
  /**
   * SIGKILLs the mount process and waits for it to exit: a crash. The mount point is left stale
   * (ENOTCONN) for the next `remount` to recover, as a real restart would have to.
   */
  kill(): Promise<void>;
}

async function isMounted(mountpoint: string): Promise<boolean> {
  return (await mountTypeAt(mountpoint)) !== undefined;
}

/**
 * `env` is added to the environment of the mount process and of `strata` and `sh` runs;
 * `mountpointName` names the mount point's folder (default `mnt`).
 */
export async function startMount(options: { args?: string[]; home?: string; env?: Record<string, string>; mountpointName?: string } = {}): Promise<TestMount> {
  const base = await makeTempDir('strata-mount');
  const home = options.home ?? join(base, 'home');
  const mountpoint = join(base, options.mountpointName ?? 'mnt');
  await mkdir(mountpoint, { recursive: true });
  let child: ChildProcess | undefined;
  let output = '';

  const launch = async (args: string[]) => {
    output = '';
    const proc = spawn(process.execPath, [STRATA_BIN, 'mount', mountpoint, '--foreground', '--home', home, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
    child = proc;
    proc.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    for (let waitedMs = 0; ; waitedMs += 50) {
      if (output.includes('"mounted"') && (await isMounted(mountpoint))) return;
      const done = await Promise.race([exited, new Promise((r) => setTimeout(() => r('wait'), 50))]);
      if (done !== 'wait') throw new Error(`strata mount exited with ${String(done)}:\n${output}`);
      if (waitedMs > 30_000) throw new Error(`strata mount did not come up in 30 s:\n${output}`);
    }
  };

  const unmount = async () => {
    const proc = child;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    // unref: a pending 60 s timer would otherwise keep the test process alive after the last test
    const stopped = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 60_000).unref())]);
    if (!stopped) {
      proc.kill('SIGKILL');
      await exited;
    }
    if (await isMounted(mountpoint)) {
      await exec('fusermount', ['-uz', mountpoint]).catch(() => exec('umount', ['-l', mountpoint]).catch(() => undefined));
    }
    if (!stopped) throw new Error(`the mount did not stop within 60 s after SIGTERM:\n${output}`);
  };

  const run = async (file: string, args: string[], allowFailure = false, extra: { uid?: number; gid?: number } = {}) => {
    try {
      const { stdout, stderr } = await exec(file, args, { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...options.env, STRATA_HOME: home }, ...extra });
      return { stdout, stderr, code: 0 };
    } catch (err) {
      const failure = err as { stdout?: string; stderr?: string; code?: number };
      if (!allowFailure) throw new Error(`${file} ${args.join(' ')} failed (${failure.code}): ${failure.stderr}`);
      return { stdout: failure.stdout ?? '', stderr: failure.stderr ?? '', code: typeof failure.code === 'number' ? failure.code : 1 };
    }
  };

  await launch(options.args ?? []);
  return {
    mountpoint,
    home,
    log: () => output,
    strata: (args, opts = {}) => run(process.execPath, [STRATA_BIN, ...args, '--home', home], opts.allowFailure),
    sh: (command, opts = {}) => run('/bin/sh', ['-c', command], opts.allowFailure, { uid: opts.uid, gid: opts.gid }),
    unmount,
    remount: (extraArgs) => launch(extraArgs ?? options.args ?? []),
    pid: () => (child && child.exitCode === null && child.signalCode === null ? child.pid : undefined),
    kill: async () => {
      const proc = child;
      child = undefined;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill('SIGKILL');
      await exited;
    },
    cleanup: async () => {
      try {
        await unmount();
        // a killed mount leaves its mount point stale; detach it before removing the folder
        if (await isMounted(mountpoint)) await exec('fusermount', ['-uz', mountpoint]).catch(() => exec('umount', ['-l', mountpoint]).catch(() => undefined));
      } finally {
        await removeDir(base);
      }
    },
  };
}
