// The S3 backend's object GETs and PUTs over plain HTTP without the SDK: signed here (sigv4.ts)
// and sent on connections of our own (http1.ts). On this machine the SDK spends about 3 ms of CPU
// on each request (middleware stack, serde, endpoint rules, its signer) against 0.7 ms for the
// request itself: a third of each small file's close, and a fifth of each 4 MiB read. Errors come
// back shaped as the SDK's (name, $metadata.httpStatusCode), so one translation serves both paths.
// Only path-style endpoints over http: are served here; everything else stays with the SDK.

import { Http1Client, type Http1Options } from './http1.js';
import { escapeUri, SigV4Signer, type Credentials } from './sigv4.js';
import type { ByteRange } from './store.js';

export interface DirectS3Options {
  endpoint: string;
  bucket: string;
  region: string;
  credentials: () => Promise<Credentials>;
  http: Http1Options;
}

/** An S3 error answer, shaped as the SDK's errors are. */
export class S3ErrorResponse extends Error {
  readonly $metadata: { httpStatusCode: number };

  constructor(name: string, message: string, httpStatusCode: number) {
    super(message);
    this.name = name;
    this.$metadata = { httpStatusCode };
  }
}

export interface FetchedBody {
  body: Buffer;
  /** the Content-Range header of a ranged answer */
  contentRange?: string;
}

/** The HTTP Range header for `range` (not empty). */
export function rangeHeader(range: ByteRange): string {
  return `bytes=${range.offset}-${range.offset + range.length - 1}`;
}

function xmlField(xml: string, field: string): string | undefined {
  return new RegExp(`<${field}>([^<]*)</${field}>`).exec(xml)?.[1];
}

function errorOf(statusCode: number, body: Buffer): S3ErrorResponse {
  const xml = body.toString('utf8');
  const name = xmlField(xml, 'Code') ?? (statusCode === 404 ? 'NotFound' : `HTTP${statusCode}`);
  return new S3ErrorResponse(name, xmlField(xml, 'Message') ?? `the server answered HTTP ${statusCode}`, statusCode);
}

export class DirectS3 {
  private readonly http: Http1Client;
  private readonly signer: SigV4Signer;
  /** the Host header: name and port as the endpoint gives them */
  private readonly host: string;

  /** Null where the SDK must do the work: TLS, or bucket-named hosts. */
  static create(options: DirectS3Options & { forcePathStyle: boolean }): DirectS3 | null {
    const url = new URL(options.endpoint);
    if (url.protocol !== 'http:' || !options.forcePathStyle || (url.pathname !== '/' && url.pathname !== '')) return null;
    return new DirectS3(url, options);
  }

  private constructor(url: URL, private readonly options: DirectS3Options) {
    this.http = new Http1Client(url.hostname.replace(/^\[(.*)\]$/, '$1'), Number(url.port || 80), options.http);
    this.signer = new SigV4Signer(options.region);
    this.host = url.host;
  }

  /** The object's bytes (into `into` when they fit), or the S3 error the server answered. */
  async get(key: string, range: ByteRange | undefined, into: Buffer | undefined): Promise<FetchedBody> {
    const headers: Record<string, string> = range ? { range: rangeHeader(range) } : {};
    const response = await this.send('GET', key, headers, undefined, into);
    if (response.statusCode !== 200 && response.statusCode !== 206) throw errorOf(response.statusCode, response.body);
    return { body: response.body, contentRange: response.headers['content-range'] };
  }

  async put(key: string, body: Uint8Array): Promise<void> {
    const response = await this.send('PUT', key, {}, body, undefined);
    if (response.statusCode !== 200) throw errorOf(response.statusCode, response.body);
  }

  close(): void {
    this.http.close();
  }

  private async send(method: 'GET' | 'PUT', key: string, headers: Record<string, string>, body: Uint8Array | undefined, into: Buffer | undefined) {
    const path = `/${escapeUri(this.options.bucket)}/${key.split('/').map(escapeUri).join('/')}`;
    const signed = this.signer.sign(method, this.host, path, headers, await this.options.credentials());
    return this.http.send({ method, target: path, headers: signed, body, into });
  }
}
