// A real Ceph RADOS Gateway for the tests, started once per test run and shared by every file.
//
// If STRATA_RGW_ENDPOINT is set (CI's .ci/run starts one with scripts/ceph-rgw/start.sh before
// `npm test` and stops it after), that gateway is used and nothing is started or stopped here.
// Otherwise the first caller starts one (scripts/ceph-rgw/start.sh in a temp dir, on a free port
// range of 127.0.0.1) and it is stopped when the test process exits. Without the Ceph packages this
// throws rather than skipping, unless STRATA_SKIP_RGW=1 says to skip on purpose.

import { execFile, execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { makeTempDir } from './tmp.js';

const exec = promisify(execFile);

export const START_SCRIPT = fileURLToPath(new URL('../../../scripts/ceph-rgw/start.sh', import.meta.url));
export const STOP_SCRIPT = fileURLToPath(new URL('../../../scripts/ceph-rgw/stop.sh', import.meta.url));
const DEFAULT_BUCKET = 'strata-test';
/** Ports from the base port on that start.sh uses (monitor, S3, OSD messengers). */
const PORT_SPAN = 20;
const START_TIMEOUT_MS = 240_000;
const START_ATTEMPTS = 3;

export interface RunningCephRgw {
  endpoint: string;
  bucket: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Releases this caller's use; the gateway itself stops with the test process (or never, if CI owns it). */
  stop(): Promise<void>;
}

/** Why the RGW tests do not run, when a developer said so with STRATA_SKIP_RGW=1; else undefined. */
export function cephRgwSkipReason(): string | undefined {
  if (process.env.STRATA_RGW_ENDPOINT) return undefined;
  return process.env.STRATA_SKIP_RGW === '1' ? 'STRATA_SKIP_RGW=1 is set' : undefined;
}

let shared: Promise<Omit<RunningCephRgw, 'stop'>> | undefined;

export function startCephRgw(): Promise<RunningCephRgw> {
  shared ??= fromEnvironment() ?? startOwn();
  // A failed start is reported to every caller, not retried per file.
  return shared.then((rgw) => ({ ...rgw, stop: async () => undefined }));
}

function fromEnvironment(): Promise<Omit<RunningCephRgw, 'stop'>> | undefined {
  const endpoint = process.env.STRATA_RGW_ENDPOINT;
  if (!endpoint) return undefined;
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = process.env;
  if (!accessKeyId || !secretAccessKey) {
    return Promise.reject(new Error(`STRATA_RGW_ENDPOINT=${endpoint} is set but AWS_ACCESS_KEY_ID or AWS_SECRET_ACCESS_KEY is not; source the s3.env that scripts/ceph-rgw/start.sh wrote`));
  }
  const rgw = { endpoint, bucket: process.env.STRATA_RGW_BUCKET || DEFAULT_BUCKET, credentials: { accessKeyId, secretAccessKey } };
  return ensureBucket(rgw).then(() => rgw);
}

async function startOwn(): Promise<Omit<RunningCephRgw, 'stop'>> {
  if (process.env.STRATA_SKIP_RGW === '1') {
    throw new Error('STRATA_SKIP_RGW=1 is set: a test that needs Ceph RGW should have checked cephRgwSkipReason()');
  }
  try {
    execFileSync('/bin/sh', ['-c', 'command -v radosgw && command -v ceph-mon && command -v ceph-osd'], { stdio: 'ignore' });
  } catch {
    throw new Error(
      'Ceph RGW tests need the Ceph packages and they are not installed (no radosgw, ceph-mon or ceph-osd on the PATH).\n' +
        'Install them with `apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw` (scripts/setup.sh does),\n' +
        'or set STRATA_SKIP_RGW=1 to skip the Ceph RGW tests on purpose.',
    );
  }
  const dir = await makeTempDir('ceph-rgw');
  stopAtExit(dir);
  let lastError: unknown;
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    const basePort = await freePortRange(PORT_SPAN);
    try {
      const { stdout } = await exec(START_SCRIPT, [dir, String(basePort)], { timeout: START_TIMEOUT_MS, killSignal: 'SIGKILL' });
      const env = parseEnv(stdout);
      const rgw = {
        endpoint: env.STRATA_RGW_ENDPOINT!,
        bucket: env.STRATA_RGW_BUCKET || DEFAULT_BUCKET,
        credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY! },
      };
      await ensureBucket(rgw);
      return rgw;
    } catch (err) {
      lastError = err;
      const stderr = (err as { stderr?: string }).stderr ?? '';
      // Someone took a port between our check and the daemons binding it: try another range.
      if (!/already in use|Address already in use|bind.*failed/i.test(stderr)) break;
    }
  }
  const failure = lastError as { message?: string; stderr?: string };
  throw new Error(`starting Ceph RGW with ${START_SCRIPT} failed: ${failure.message ?? String(lastError)}\n${failure.stderr ?? ''}`);
}

/** Stops the gateway and removes its folder when the test process ends, however it ends. */
function stopAtExit(dir: string): void {
  let stopped = false;
  const stopNow = () => {
    if (stopped) return;
    stopped = true;
    try {
      execFileSync(STOP_SCRIPT, [dir], { stdio: 'ignore', timeout: 60_000 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  process.once('exit', stopNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      stopNow();
      process.kill(process.pid, signal);
    });
  }
  // SIGKILL runs no handler: a watcher outside this process stops the daemons if it dies that way.
  const watcher = spawn(
    '/bin/sh',
    ['-c', 'while kill -0 "$1" 2>/dev/null && ! grep -q "^[0-9]* (.*) Z" "/proc/$1/stat" 2>/dev/null; do sleep 2; done; "$2" "$3"; rm -rf "$3"', 'ceph-rgw-watch', String(process.pid), STOP_SCRIPT, dir],
    { detached: true, stdio: 'ignore' },
  );
  watcher.unref();
}

/** A base port whose next `span` ports on 127.0.0.1 are all free right now. */
async function freePortRange(span: number): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    let free = true;
    for (let port = base; port < base + span && free; port++) free = await portIsFree(port);
    if (free) return base;
  }
  throw new Error(`found no ${span} free consecutive ports on 127.0.0.1 for Ceph RGW`);
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

function parseEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const match of text.matchAll(/^export (\w+)=(.*)$/gm)) env[match[1]!] = match[2]!;
  if (!env.STRATA_RGW_ENDPOINT || !env.AWS_ACCESS_KEY_ID || !env.AWS_SECRET_ACCESS_KEY) {
    throw new Error(`start.sh printed no endpoint and keys:\n${text}`);
  }
  return env;
}

/** Creates the bucket unless it is there already. */
async function ensureBucket(rgw: Omit<RunningCephRgw, 'stop'>): Promise<void> {
  const client = new S3Client({
    region: 'us-east-1',
    endpoint: rgw.endpoint,
    forcePathStyle: true,
    credentials: rgw.credentials,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  try {
    await client.send(new CreateBucketCommand({ Bucket: rgw.bucket }));
  } catch (err) {
    if ((err as Error).name !== 'BucketAlreadyOwnedByYou') {
      throw new Error(`creating bucket ${rgw.bucket} at ${rgw.endpoint} failed: ${(err as Error).name}: ${(err as Error).message}`);
    }
  } finally {
    client.destroy();
  }
}
