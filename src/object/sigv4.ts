// AWS Signature Version 4 for the S3 backend's own requests (src/object/s3-direct.ts): the
// canonical request, the string to sign and the day's signing key, which is derived once per
// day, region and secret. Bodies go unsigned (UNSIGNED-PAYLOAD): each object's digest is checked
// on every read.

import { createHash, createHmac } from 'node:crypto';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

/** RFC 3986 escaping, as SigV4 wants it: everything but letters, digits and `-._~`. */
export function escapeUri(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** `20261202T031500Z` */
function amzDate(now: Date): string {
  return now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

export class SigV4Signer {
  private signingKey: { scope: string; secret: string; key: Buffer } | undefined;

  constructor(private readonly region: string, private readonly service = 's3') {}

  /**
   * The headers to send with a request to `path` (escaped, no query): `headers` (names in lower
   * case, all signed) plus host, date, payload hash, token and authorization.
   */
  sign(method: string, host: string, path: string, headers: Record<string, string>, credentials: Credentials, now = new Date()): Record<string, string> {
    const date = amzDate(now);
    const day = date.slice(0, 8);
    const all: Record<string, string> = { ...headers, host, 'x-amz-content-sha256': UNSIGNED_PAYLOAD, 'x-amz-date': date };
    if (credentials.sessionToken) all['x-amz-security-token'] = credentials.sessionToken;
    const names = Object.keys(all).sort();
    const signedHeaders = names.join(';');
    const canonicalHeaders = names.map((name) => `${name}:${all[name]!.trim()}\n`).join('');
    const canonicalRequest = `${method}\n${path}\n\n${canonicalHeaders}\n${signedHeaders}\n${UNSIGNED_PAYLOAD}`;
    const scope = `${day}/${this.region}/${this.service}/aws4_request`;
    const stringToSign = `AWS4-HMAC-SHA256\n${date}\n${scope}\n${createHash('sha256').update(canonicalRequest).digest('hex')}`;
    const signature = createHmac('sha256', this.keyFor(scope, day, credentials.secretAccessKey)).update(stringToSign).digest('hex');
    all['authorization'] = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
    return all;
  }

  private keyFor(scope: string, day: string, secret: string): Buffer {
    if (this.signingKey?.scope === scope && this.signingKey.secret === secret) return this.signingKey.key;
    const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
    const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), this.region), this.service), 'aws4_request');
    this.signingKey = { scope, secret, key };
    return key;
  }
}
