// A small HTTP/1.1 client for the S3 backend's hot requests (object GET and PUT over plain HTTP):
// keep-alive connections of its own, a request written in one go, and a response body read from
// the socket straight into the caller's buffer (net's `onread`). Through node:http a 4 MiB body
// arrives as 64 KiB chunks, each parsed, wrapped in a Buffer, pushed through a stream and copied
// out once more; on 2 cores that work and its garbage held the mount's S3 reads to half of what
// the server sends. Content-Length and chunked bodies are read; a body that ends only when the
// server closes the connection is `FramingUnsupported`, and the caller asks again through the SDK.

import { connect, type Socket } from 'node:net';

export interface Http1Options {
  connectTimeoutMs: number;
  /** how long a request may see no bytes move before it fails */
  idleTimeoutMs: number;
  maxSockets: number;
}

export interface Http1Request {
  method: 'GET' | 'PUT';
  /** the request target: path and query, already escaped */
  target: string;
  headers: Record<string, string>;
  body?: Uint8Array;
  /** where a successful (2xx) response body goes when it fits; the response body is then a view of it */
  into?: Buffer;
}

export interface Http1Response {
  statusCode: number;
  /** header names in lower case */
  headers: Record<string, string>;
  body: Buffer;
}

/** Below the 5 s keep-alive timeout of Node servers, so the server rarely closes a socket we are about to reuse. */
const IDLE_KEEP_MS = 4_000;
const HEAD_START_BYTES = 8 * 1024;
const HEAD_MAX_BYTES = 64 * 1024;

/** `buffer` with room past its first `used` bytes: twice the size once it is full. */
function withRoom(buffer: Buffer, used: number): Buffer {
  if (used < buffer.length) return buffer;
  const grown = Buffer.allocUnsafe(buffer.length * 2);
  buffer.copy(grown, 0, 0, used);
  return grown;
}

/** A network failure the retry policy recognises by its code, as it does Node's own. */
function networkError(code: 'ECONNRESET' | 'ETIMEDOUT', message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** The response body ends only when the connection closes, which this client does not read: ask through node:http. */
export class FramingUnsupported extends Error {}

interface Head {
  statusCode: number;
  headers: Record<string, string>;
  keepAlive: boolean;
}

interface Response extends Head {
  body: Buffer;
}

interface Exchange {
  into: Buffer | undefined;
  head: Head | null;
  /** a Content-Length body: read in place */
  body: Buffer | null;
  filled: number;
  /** a chunked body: gathered, then decoded */
  chunked: ChunkedBody | null;
  resolve(response: Response): void;
  reject(err: Error): void;
}

/** A chunked body (as error answers often come): raw bytes gathered in a growing buffer, decoded as they arrive. */
class ChunkedBody {
  private raw: Buffer = Buffer.allocUnsafe(HEAD_START_BYTES);
  private rawBytes = 0;
  /** where the next chunk-size line starts */
  private parsed = 0;
  private readonly parts: Array<[number, number]> = [];

  target(): Buffer {
    this.raw = withRoom(this.raw, this.rawBytes);
    return this.raw.subarray(this.rawBytes);
  }

  /** Adds bytes that arrived with the head; true once the body is complete. */
  append(bytes: Buffer): boolean {
    for (let at = 0; at < bytes.length; ) {
      const copied = bytes.copy(this.target(), 0, at);
      this.rawBytes += copied;
      at += copied;
    }
    return this.take(0);
  }

  /** Counts `bytes` more read into `target()`; true once the last chunk and its trailers are in. */
  take(bytes: number): boolean {
    this.rawBytes += bytes;
    const raw = this.raw.subarray(0, this.rawBytes);
    for (;;) {
      const lineEnd = raw.indexOf('\r\n', this.parsed);
      if (lineEnd < 0) return false;
      const sizeText = raw.toString('latin1', this.parsed, lineEnd).split(';')[0]!.trim();
      if (!/^[0-9a-fA-F]+$/.test(sizeText)) throw new Error(`a malformed chunk size: ${JSON.stringify(sizeText.slice(0, 20))}`);
      const size = parseInt(sizeText, 16);
      const dataStart = lineEnd + 2;
      if (size === 0) {
        // Trailer lines, if any, then an empty line.
        const end = raw[dataStart] === 13 && raw[dataStart + 1] === 10 ? dataStart + 2 : raw.indexOf('\r\n\r\n', dataStart) + 4;
        if (end < 4 || end > this.rawBytes) return false;
        if (end !== this.rawBytes) throw new Error(`${this.rawBytes - end} bytes beyond the end of a chunked body`);
        return true;
      }
      if (this.rawBytes < dataStart + size + 2) return false;
      this.parts.push([dataStart, dataStart + size]);
      this.parsed = dataStart + size + 2;
    }
  }

  /** The decoded body: in `into` when it fits. */
  body(into: Buffer | undefined): Buffer {
    const length = this.parts.reduce((sum, [start, end]) => sum + end - start, 0);
    const out = into && length <= into.length ? into.subarray(0, length) : Buffer.allocUnsafe(length);
    let at = 0;
    for (const [start, end] of this.parts) at += this.raw.copy(out, at, start, end);
    return out;
  }
}

/** One keep-alive connection; it reads the head into scratch memory and the body into its own buffer. */
class Connection {
  readonly socket: Socket;
  private scratch: Buffer = Buffer.allocUnsafe(HEAD_START_BYTES);
  private headBytes = 0;
  private exchange: Exchange | null = null;
  reused = false;
  /** a byte of the current request's response arrived: a failure after that is not a stale keep-alive socket */
  answered = false;

  constructor(host: string, port: number, private readonly requestTimeoutMs: number, onClose: (connection: Connection) => void) {
    this.socket = connect({
      host,
      port,
      noDelay: true,
      onread: { buffer: () => this.readTarget(), callback: (bytes: number) => this.onRead(bytes) },
    });
    this.socket.on('timeout', () => this.fail(networkError('ETIMEDOUT', `no bytes from ${host}:${port} for ${this.requestTimeoutMs} ms`)));
    this.socket.on('error', (err) => this.fail(err));
    this.socket.on('end', () => this.fail(networkError('ECONNRESET', `${host}:${port} closed the connection`)));
    this.socket.on('close', () => {
      this.fail(networkError('ECONNRESET', `the connection to ${host}:${port} closed`));
      onClose(this);
    });
  }

  /** Resolves once connected; a connection that cannot be made fails within `timeoutMs`. */
  ready(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.setTimeout(timeoutMs);
      const onError = (err: Error) => reject(err);
      const onTimeout = () => {
        reject(networkError('ETIMEDOUT', `connecting to ${this.socket.remoteAddress ?? 'the server'} took over ${timeoutMs} ms`));
        this.socket.destroy();
      };
      this.socket.once('error', onError);
      this.socket.once('timeout', onTimeout);
      this.socket.once('connect', () => {
        this.socket.off('error', onError);
        this.socket.off('timeout', onTimeout);
        resolve();
      });
    });
  }

  request(head: string, body: Uint8Array | undefined, into: Buffer | undefined): Promise<Response> {
    return new Promise((resolve, reject) => {
      this.exchange = { into, head: null, body: null, filled: 0, chunked: null, resolve, reject };
      this.headBytes = 0;
      this.answered = false;
      this.socket.setTimeout(this.requestTimeoutMs);
      this.socket.cork();
      this.socket.write(head, 'latin1');
      if (body && body.length > 0) this.socket.write(body);
      this.socket.uncork();
    });
  }

  /** Leaves the connection idle in the pool: closed after IDLE_KEEP_MS. */
  park(): void {
    this.reused = true;
    this.socket.setTimeout(IDLE_KEEP_MS);
  }

  destroy(): void {
    this.socket.destroy();
  }

  private readTarget(): Uint8Array {
    const exchange = this.exchange;
    if (exchange?.chunked) return exchange.chunked.target();
    if (exchange?.body) return exchange.body.subarray(exchange.filled);
    if (this.scratch.length < HEAD_MAX_BYTES) this.scratch = withRoom(this.scratch, this.headBytes);
    return this.scratch.subarray(this.headBytes);
  }

  /** Always true: keep reading (a body buffer is never over-filled, it is sized to the response). */
  private onRead(bytes: number): boolean {
    const exchange = this.exchange;
    if (!exchange) {
      this.socket.destroy();
      return true;
    }
    this.answered = true;
    try {
      if (exchange.chunked) {
        if (exchange.chunked.take(bytes)) this.finish(exchange, exchange.chunked.body(this.intoFor(exchange)));
      } else if (exchange.body) {
        exchange.filled += bytes;
        if (exchange.filled === exchange.body.length) this.finish(exchange, exchange.body);
      } else {
        this.headBytes += bytes;
        this.takeHead(exchange);
      }
    } catch (err) {
      this.fail(err as Error);
    }
    return true;
  }

  /** Parses the head once it is complete, and hands the body bytes that came with it on. */
  private takeHead(exchange: Exchange): void {
    const end = this.scratch.subarray(0, this.headBytes).indexOf('\r\n\r\n');
    if (end < 0) {
      if (this.headBytes === HEAD_MAX_BYTES) throw new Error(`a response head over ${HEAD_MAX_BYTES} bytes`);
      return;
    }
    const head = parseHead(this.scratch.toString('latin1', 0, end));
    const bodyStart = end + 4;
    if (head.statusCode < 200) {
      // An informational answer (100 Continue) precedes the real one.
      this.scratch.copy(this.scratch, 0, bodyStart, this.headBytes);
      this.headBytes -= bodyStart;
      this.takeHead(exchange);
      return;
    }
    exchange.head = head;
    const early = this.scratch.subarray(bodyStart, this.headBytes);
    this.headBytes = 0;
    if (/\bchunked\b/i.test(head.headers['transfer-encoding'] ?? '')) {
      exchange.chunked = new ChunkedBody();
      if (exchange.chunked.append(early)) this.finish(exchange, exchange.chunked.body(this.intoFor(exchange)));
      return;
    }
    const lengthText = head.headers['content-length'];
    if (lengthText === undefined || !/^\d+$/.test(lengthText)) throw new FramingUnsupported(`a response framed by closing the connection (status ${head.statusCode})`);
    const length = Number(lengthText);
    const into = this.intoFor(exchange);
    const body = into && length <= into.length ? into.subarray(0, length) : Buffer.allocUnsafe(length);
    if (early.length > length) throw new Error(`${early.length - length} bytes beyond the announced body`);
    early.copy(body);
    exchange.body = body;
    exchange.filled = early.length;
    if (exchange.filled === length) this.finish(exchange, body);
  }

  /** The caller's buffer, for a successful answer only: an error's body must not overwrite it. */
  private intoFor(exchange: Exchange): Buffer | undefined {
    const status = exchange.head?.statusCode ?? 0;
    return status >= 200 && status < 300 ? exchange.into : undefined;
  }

  private finish(exchange: Exchange, body: Buffer): void {
    this.exchange = null;
    exchange.resolve({ ...exchange.head!, body });
  }

  private fail(err: Error): void {
    const exchange = this.exchange;
    if (!exchange) {
      this.socket.destroy();
      return;
    }
    this.exchange = null;
    exchange.reject(exchange.body ? networkError('ECONNRESET', `${err.message} after ${exchange.filled} of ${exchange.body.length} body bytes`) : err);
    this.socket.destroy();
  }
}

function parseHead(text: string): Head {
  const lines = text.split('\r\n');
  const status = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/.exec(lines[0] ?? '');
  if (!status) throw new Error(`not an HTTP/1.x status line: ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`a malformed header line: ${JSON.stringify(line.slice(0, 80))}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  const connection = headers['connection']?.toLowerCase();
  const keepAlive = status[1] === '1' ? connection !== 'close' : connection === 'keep-alive';
  return { statusCode: Number(status[2]), headers, keepAlive };
}

/** Keep-alive connections to one server, at most `maxSockets` of them. */
export class Http1Client {
  private idle: Connection[] = [];
  private open = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly host: string, private readonly port: number, private readonly options: Http1Options) {}

  /** One request and its response; a kept-alive socket the server closed before answering is dropped, and the request sent on another. */
  async send(request: Http1Request): Promise<Http1Response> {
    let head = `${request.method} ${request.target} HTTP/1.1\r\n`;
    for (const [name, value] of Object.entries(request.headers)) head += `${name}: ${value}\r\n`;
    head += `content-length: ${request.body?.length ?? 0}\r\n\r\n`;
    for (;;) {
      const connection = await this.take();
      try {
        const response = await connection.request(head, request.body, request.into);
        // A server may answer before it has read the whole body (an early error): then the
        // rest of the body would be read as the next request.
        if (response.keepAlive && connection.socket.writableLength === 0) this.park(connection);
        else connection.destroy();
        return { statusCode: response.statusCode, headers: response.headers, body: response.body };
      } catch (err) {
        connection.destroy();
        if (!connection.reused || connection.answered) throw err;
      }
    }
  }

  close(): void {
    for (const connection of this.idle) connection.destroy();
    this.idle = [];
  }

  private async take(): Promise<Connection> {
    for (;;) {
      // A socket destroyed a moment ago leaves the pool only on its 'close' event.
      for (let pooled = this.idle.pop(); pooled; pooled = this.idle.pop()) if (!pooled.socket.destroyed) return pooled;
      if (this.open < this.options.maxSockets) break;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.open++;
    const connection = new Connection(this.host, this.port, this.options.idleTimeoutMs, (closed) => this.forget(closed));
    await connection.ready(this.options.connectTimeoutMs);
    return connection;
  }

  private park(connection: Connection): void {
    connection.park();
    this.idle.push(connection);
    this.waiting.shift()?.();
  }

  /** A closed connection leaves the pool (a parked one the server or the idle timeout closed, too). */
  private forget(connection: Connection): void {
    this.open--;
    this.waiting.shift()?.();
    const at = this.idle.indexOf(connection);
    if (at >= 0) this.idle.splice(at, 1);
  }
}
