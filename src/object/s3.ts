// The S3 object backend (AWS S3, RustFS, MinIO, Ceph RGW). Owns the client's connection pool, our
// own retries (the SDK's are off so retries are visible and tunable), and the translation of S3
// errors into the engine's typed errors with the bucket, endpoint and key in the message.

import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type GetObjectCommandOutput,
} from '@aws-sdk/client-s3';
import { AccessDenied, Invalid, IOError, NotFound, StrataError } from '../errors.js';
import { FramingUnsupported } from './http1.js';
import { DirectS3, rangeHeader, type FetchedBody } from './s3-direct.js';
import { DEFAULT_RETRY_POLICY, withRetry, type RetryPolicy } from './retry.js';
import type { ByteRange, ObjectInfo, ObjectStore } from './store.js';
import { assertValidKey, assertValidPrefix, assertValidRange } from './validate.js';

export interface S3ObjectStoreOptions {
  bucket: string;
  /** Prepended to every key, for example `strata/`; listed keys come back without it. */
  prefix?: string;
  /** For example `http://127.0.0.1:9000`; the AWS endpoint for `region` when absent. */
  endpoint?: string;
  region?: string;
  /** `host/bucket/key` URLs instead of `bucket.host/key`; RustFS, MinIO and most RGWs need it. */
  forcePathStyle?: boolean;
  /** The SDK's default chain (environment, profile, instance role) when absent. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  retry?: Partial<RetryPolicy>;
}

const MAX_SOCKETS = 64;
const CONNECT_TIMEOUT_MS = 10_000;
const IDLE_SOCKET_TIMEOUT_MS = 120_000;
/** DeleteObjects takes at most this many keys per request. */
const DELETE_BATCH = 1000;
const SINGLE_DELETE_CONCURRENCY = 16;

const AUTH_ERRORS = new Set([
  'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'Forbidden', 'InvalidToken',
  'ExpiredToken', 'AuthorizationHeaderMalformed',
]);
/** Transient by name; some arrive without a status (TimeoutError is raised by the client itself). */
const TRANSIENT_ERRORS = new Set([
  'SlowDown', 'Throttling', 'ThrottlingException', 'RequestTimeout', 'RequestTimeTooSkewed', 'TimeoutError',
]);
const NETWORK_ERRORS = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN']);

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

function statusOf(err: unknown): number | undefined {
  return (err as SdkError | null)?.$metadata?.httpStatusCode;
}

function nameOf(err: unknown): string {
  return (err as SdkError | null)?.name ?? 'Error';
}

/** The body ended before the length the server announced: a broken connection, worth a retry. */
class TruncatedResponse extends Error {}

function isRetryable(err: unknown): boolean {
  if (err instanceof TruncatedResponse) return true;
  if (err instanceof StrataError) return false;
  const status = statusOf(err);
  // 501 is a missing feature (DeleteObjects on some gateways), not an outage.
  if (nameOf(err) === 'NotImplemented' || status === 501) return false;
  if (status !== undefined && (status >= 500 || status === 429 || status === 408)) return true;
  const e = err as SdkError | null;
  return (
    TRANSIENT_ERRORS.has(nameOf(err)) ||
    (e?.code !== undefined && NETWORK_ERRORS.has(e.code)) ||
    /socket hang up/i.test(e?.message ?? '')
  );
}

/** A direct request whose answer only node:http can read is asked again through the SDK. */
function orThroughSdk<T>(sdkCall: () => Promise<T>): (err: unknown) => Promise<T> {
  return (err) => {
    if (err instanceof FramingUnsupported) return sdkCall();
    throw err;
  };
}

function isMissing(err: unknown): boolean {
  return nameOf(err) === 'NoSuchKey' || nameOf(err) === 'NotFound' || statusOf(err) === 404;
}

export class S3ObjectStore implements ObjectStore {
  readonly description: string;
  private readonly client: S3Client;
  private readonly agents: [HttpAgent, HttpsAgent];
  /** object GETs and PUTs without the SDK, where the endpoint allows (plain HTTP, path style) */
  private readonly direct: DirectS3 | null;
  private readonly bucket: string;
  private readonly keyPrefix: string;
  private readonly endpointName: string;
  private readonly retryPolicy: RetryPolicy;
  /** Set once the server has answered NotImplemented to DeleteObjects (some gateways lack it). */
  private singleDeletes = false;
  /** HEAD answers carry no error body, so a 404 on them needs one HeadBucket to tell the causes apart. */
  private bucketConfirmed = false;

  constructor(options: S3ObjectStoreOptions) {
    this.bucket = options.bucket;
    this.keyPrefix = options.prefix ?? '';
    const region = options.region ?? 'us-east-1';
    this.endpointName = options.endpoint ?? `AWS S3 (${region})`;
    this.description = `s3:${options.endpoint ? options.endpoint + '/' : ''}${this.bucket}/${this.keyPrefix}`;
    this.retryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.agents = [
      new HttpAgent({ keepAlive: true, maxSockets: MAX_SOCKETS }),
      new HttpsAgent({ keepAlive: true, maxSockets: MAX_SOCKETS }),
    ];
    this.client = new S3Client({
      region,
      endpoint: options.endpoint,
      forcePathStyle: options.forcePathStyle ?? false,
      credentials: options.credentials,
      maxAttempts: 1,
      // Ceph RGW rejects the aws-chunked bodies with checksum trailers the SDK sends by default.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        httpAgent: this.agents[0],
        httpsAgent: this.agents[1],
        connectionTimeout: CONNECT_TIMEOUT_MS,
        requestTimeout: IDLE_SOCKET_TIMEOUT_MS,
      },
    });
    this.direct = options.endpoint
      ? DirectS3.create({
          endpoint: options.endpoint,
          bucket: this.bucket,
          region,
          forcePathStyle: options.forcePathStyle ?? false,
          credentials: () => this.client.config.credentials(),
          http: { connectTimeoutMs: CONNECT_TIMEOUT_MS, idleTimeoutMs: IDLE_SOCKET_TIMEOUT_MS, maxSockets: MAX_SOCKETS },
        })
      : null;
    // The signer would hash every 4 MiB body with SHA-256 on the main thread (a second of CPU per
    // GiB written). Each object's own digest is checked on every read, so the body goes unsigned.
    this.client.middlewareStack.add(
      (next, context) => (args) => {
        const request = args.request as { headers?: Record<string, string> };
        if (context.commandName === 'PutObjectCommand' && request.headers) request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
        return next(args);
      },
      { step: 'build', name: 'strataUnsignedPayload' },
    );
  }

  async put(key: string, body: Uint8Array, ready?: Promise<unknown>): Promise<void> {
    assertValidKey(key);
    await ready;
    const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    const sdkPut = () => this.client.send(new PutObjectCommand({
      Bucket: this.bucket, Key: this.keyPrefix + key, Body: bytes, ContentLength: bytes.length,
    }));
    const direct = this.direct;
    await this.call('writing', key, direct ? () => direct.put(this.keyPrefix + key, bytes).catch(orThroughSdk(sdkPut)) : sdkPut);
  }

  async get(key: string, range?: ByteRange, into?: Buffer): Promise<Buffer> {
    assertValidKey(key);
    if (range) assertValidRange(key, range);
    if (range?.length === 0) {
      // An empty range cannot be expressed as an HTTP Range; only existence is left to check.
      if ((await this.head(key)) === null) throw this.notFound(key);
      return Buffer.alloc(0);
    }
    const sdkGet = async (): Promise<FetchedBody> => {
      const response = await this.client.send(new GetObjectCommand({
        Bucket: this.bucket,
        Key: this.keyPrefix + key,
        Range: range ? rangeHeader(range) : undefined,
      }));
      return { body: await readBody(response, into), contentRange: response.ContentRange };
    };
    const direct = this.direct;
    const fetch = direct ? () => direct.get(this.keyPrefix + key, range, into).catch(orThroughSdk(sdkGet)) : sdkGet;
    try {
      return await this.call('reading', key, async () => this.rangeOf(key, await fetch(), range));
    } catch (err) {
      // A range starting at or past the end: the object exists and has no bytes there.
      if (err instanceof StrataError && nameOf(err.cause) === 'InvalidRange') return Buffer.alloc(0);
      throw err;
    }
  }

  /** A successful PutObject is already durable in S3. */
  async persist(): Promise<void> {}

  async head(key: string): Promise<ObjectInfo | null> {
    assertValidKey(key);
    try {
      const response = await withRetry(
        () => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.keyPrefix + key })),
        this.retryOptions(),
      );
      return { key, sizeBytes: response.ContentLength ?? 0 };
    } catch (err) {
      if (!isMissing(err)) throw this.translate(err, 'inspecting', key);
    }
    await this.confirmBucket(key);
    return null;
  }

  async delete(keys: string[]): Promise<void> {
    keys.forEach(assertValidKey);
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      if (!this.singleDeletes) {
        try {
          await this.deleteBatch(batch);
          continue;
        } catch (err) {
          const cause = err instanceof StrataError ? err.cause : err;
          if (nameOf(cause) !== 'NotImplemented' && statusOf(cause) !== 501) throw err;
          this.singleDeletes = true;
        }
      }
      for (let j = 0; j < batch.length; j += SINGLE_DELETE_CONCURRENCY) {
        await Promise.all(batch.slice(j, j + SINGLE_DELETE_CONCURRENCY).map((key) =>
          this.call('deleting', key, () =>
            this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.keyPrefix + key })),
          ),
        ));
      }
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    assertValidPrefix(prefix);
    let token: string | undefined;
    do {
      const page = await this.call('listing', `${prefix}*`, () =>
        this.client.send(new ListObjectsV2Command({
          Bucket: this.bucket, Prefix: this.keyPrefix + prefix, ContinuationToken: token,
        })),
      );
      for (const object of page.Contents ?? []) {
        yield { key: object.Key!.slice(this.keyPrefix.length), sizeBytes: object.Size ?? 0 };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async close(): Promise<void> {
    this.direct?.close();
    this.client.destroy();
    for (const agent of this.agents) agent.destroy();
  }

  private async deleteBatch(keys: string[]): Promise<void> {
    const what = keys.length === 1 ? keys[0]! : `${keys[0]} (and ${keys.length - 1} more)`;
    const response = await this.call('deleting', what, () =>
      this.client.send(new DeleteObjectsCommand({
        Bucket: this.bucket,
        Delete: { Objects: keys.map((key) => ({ Key: this.keyPrefix + key })), Quiet: true },
      })),
    );
    const failure = response.Errors?.find((e) => e.Code !== 'NoSuchKey');
    if (failure) {
      const key = failure.Key?.slice(this.keyPrefix.length) ?? '?';
      throw this.translate(
        Object.assign(new Error(failure.Message ?? failure.Code), { name: failure.Code }),
        'deleting',
        key,
      );
    }
  }

  /** The bytes `range` asked for, refusing bytes it did not ask for. */
  private rangeOf(key: string, fetched: FetchedBody, range?: ByteRange): Buffer {
    const { body, contentRange } = fetched;
    if (!range) return body;
    if (contentRange === undefined) {
      // The server ignored Range and sent the whole object.
      return body.subarray(range.offset, range.offset + range.length);
    }
    const start = /^bytes (\d+)-/.exec(contentRange)?.[1];
    if (Number(start) !== range.offset) {
      throw IOError(`reading object ${key} from ${this.endpointName}: asked for bytes from ${range.offset}, got ${contentRange}`);
    }
    // Some servers (s3rver for `bytes=0-0`) send more than asked for.
    return body.subarray(0, range.length);
  }

  private async confirmBucket(key: string): Promise<void> {
    if (this.bucketConfirmed) return;
    try {
      await withRetry(() => this.client.send(new HeadBucketCommand({ Bucket: this.bucket })), this.retryOptions());
    } catch (err) {
      // Anything but 404 (a policy without s3:ListBucket answers 403) leaves the bucket plausible.
      if (statusOf(err) === 404) throw this.bucketMissing(err);
      if (statusOf(err) !== 403) throw this.translate(err, 'inspecting', key);
    }
    this.bucketConfirmed = true;
  }

  private call<T>(action: string, key: string, send: () => Promise<T>): Promise<T> {
    return withRetry(send, this.retryOptions()).catch((err: unknown) => {
      throw this.translate(err, action, key);
    });
  }

  private retryOptions() {
    return { ...this.retryPolicy, isRetryable };
  }

  private translate(err: unknown, action: string, key: string): StrataError {
    if (err instanceof StrataError) return err;
    const name = nameOf(err);
    const detail = `${action} object ${key} in bucket ${this.bucket} at ${this.endpointName}`;
    if (AUTH_ERRORS.has(name) || statusOf(err) === 403) {
      return AccessDenied(`S3 authentication failed for bucket ${this.bucket} at endpoint ${this.endpointName}: ${name} (${action} object ${key})`, err);
    }
    if (name === 'NoSuchBucket') return this.bucketMissing(err);
    if (name === 'NoSuchKey' || (action === 'reading' && isMissing(err))) return this.notFound(key, err);
    const message = (err as Error | null)?.message ?? String(err);
    if (isRetryable(err)) {
      return IOError(`${detail} failed after ${this.retryPolicy.attempts} attempts: ${name}: ${message}`, err);
    }
    return IOError(`${detail} failed: ${name}: ${message}`, err);
  }

  private notFound(key: string, cause?: unknown): StrataError {
    return NotFound(`object ${key} not found in ${this.description}`, cause);
  }

  private bucketMissing(cause: unknown): StrataError {
    return Invalid(`bucket ${this.bucket} does not exist at endpoint ${this.endpointName}`, cause);
  }
}

/** The SDK's response body in one buffer, refusing short bodies: `into` when the announced length fits it, else a new one. */
async function readBody(response: GetObjectCommandOutput, into?: Buffer): Promise<Buffer> {
  const body = await collectBody(response, into);
  if (response.ContentLength !== undefined && body.length !== response.ContentLength) {
    throw new TruncatedResponse(`got ${body.length} of ${response.ContentLength} bytes`);
  }
  return body;
}

async function collectBody(response: GetObjectCommandOutput, into?: Buffer): Promise<Buffer> {
  const stream = response.Body;
  if (!stream) return Buffer.alloc(0);
  const announced = response.ContentLength;
  if (!into || announced === undefined || announced > into.length || !(stream instanceof Readable)) {
    const array = await stream.transformToByteArray();
    return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
  }
  let filled = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    if (filled + chunk.length > announced) {
      stream.destroy();
      throw new TruncatedResponse(`got more than the announced ${announced} bytes`);
    }
    filled += chunk.copy(into, filled);
  }
  return into.subarray(0, filled);
}
