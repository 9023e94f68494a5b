// Starts s3rver (an S3 imitation over a local folder) on a free port of 127.0.0.1, with one bucket
// and the only credentials it knows.
//
// It runs in a child Node with --openssl-legacy-provider: s3rver encrypts ListObjectsV2 continuation
// tokens with DES, which OpenSSL 3 (Node >= 17) refuses by default, so every listing longer than
// one page would fail with InternalError. This same file is the child's entry point.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import S3rver from 's3rver';
import { makeTempDir, removeDir } from './tmp.js';

export const S3RVER_BUCKET = 'strata-test';
/** s3rver's built-in account; it rejects any other access key id with InvalidAccessKeyId. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

const STOP_TIMEOUT_MS = 5000;

export interface RunningS3rver {
  endpoint: string;
  bucket: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  stop(): Promise<void>;
}

export async function startS3rver(): Promise<RunningS3rver> {
  const directory = await makeTempDir('s3rver');
  const child = spawn(process.execPath, ['--openssl-legacy-provider', fileURLToPath(import.meta.url), directory], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
    await removeDir(directory);
  };
  try {
    const [line] = (await Promise.race([
      once(createInterface({ input: child.stdout }), 'line'),
      once(child, 'exit').then(([code]) => Promise.reject(new Error(`s3rver exited with ${code} before listening`))),
    ])) as [string];
    const { port } = JSON.parse(line) as { port: number };
    return { endpoint: `http://127.0.0.1:${port}`, bucket: S3RVER_BUCKET, credentials: S3RVER_CREDENTIALS, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The child: serves until its stdin closes, so it cannot outlive the test process. */
async function serve(directory: string): Promise<void> {
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    vhostBuckets: false,
    configureBuckets: [{ name: S3RVER_BUCKET }],
  });
  const { port } = await server.run();
  process.stdout.write(JSON.stringify({ port }) + '\n');
  process.stdin.resume();
  await once(process.stdin, 'end');
  await server.close();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await serve(process.argv[2]!);
