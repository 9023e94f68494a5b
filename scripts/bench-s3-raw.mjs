#!/usr/bin/env node
// s3rver's own rates, the bar Strata on s3rver is held to: <MiB> of 4 MiB objects PUT and then GET
// with the AWS SDK, 8 requests in flight. Run by scripts/bench in a child process; prints one JSON
// line: {"putMBs":..,"getMBs":..} (MB = 10^6 bytes).
//   node scripts/bench-s3-raw.mjs <endpoint> <bucket> <MiB>   (credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)
import { randomBytes } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

const [endpoint, bucket, mibText] = process.argv.slice(2);
const objects = Math.max(1, Math.round(Number(mibText) / 4));
if (!endpoint || !bucket || !(objects > 0)) {
  process.stderr.write('usage: bench-s3-raw.mjs <endpoint> <bucket> <MiB>\n');
  process.exit(2);
}
const OBJECT_BYTES = 4 * 1024 * 1024;
const IN_FLIGHT = 8;
const client = new S3Client({
  region: 'us-east-1',
  endpoint,
  forcePathStyle: true,
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});
const body = randomBytes(OBJECT_BYTES);
const prefix = `bench-raw-${process.pid}/`;

async function inParallel(work) {
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next < objects) await work(next++);
  }));
  return (objects * OBJECT_BYTES) / 1e6 / ((performance.now() - started) / 1000);
}

const putMBs = await inParallel((i) => client.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}${i}`, Body: body, ContentLength: OBJECT_BYTES })));
const getMBs = await inParallel(async (i) => {
  const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: `${prefix}${i}` }));
  const bytes = await response.Body.transformToByteArray();
  if (bytes.length !== OBJECT_BYTES) throw new Error(`GET ${prefix}${i} returned ${bytes.length} bytes`);
});
process.stdout.write(JSON.stringify({ putMBs, getMBs }) + '\n');
