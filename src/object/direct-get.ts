// The S3 client's HTTP handler. A GetObject that brings a block buffer (`into`) over plain HTTP is
// read from the socket straight into that buffer (net's `onread`); every other request goes to the
// SDK's own handler. Through node:http a 4 MiB body arrives as 64 KiB chunks, each parsed, wrapped
// in a Buffer, pushed through a stream and copied out once more: on 2 cores that work and its
// garbage held the mount's S3 reads to half of what the server sends. Over HTTPS the decryption
// costs more than those copies, so TLS stays with the SDK's handler.

import { connect, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { NodeHttpHandler, type NodeHttpHandlerOptions } from '@smithy/node-http-handler';

type HttpRequest = Parameters<NodeHttpHandler['handle']>[0];
type HttpHandlerOptions = NonNullable<Parameters<NodeHttpHandler['handle']>[1]>;
type HttpResponse = Awaited<ReturnType<NodeHttpHandler['handle']>>['response'];

export interface DirectGetOptions extends HttpHandlerOptions {
  /** where the body of a successful GET goes when it fits; the response body is then a view of it */
  into?: Buffer;
}

export interface DirectGetHandlerOptions extends NodeHttpHandlerOptions {
  connectionTimeout: number;
  /** how long a request may see no bytes move before it fails */
  requestTimeout: number;
  maxSockets: number;
}

/** Below the 5 s keep-alive timeout of Node servers, so the server rarely closes a socket we are about to reuse. */
const IDLE_KEEP_MS = 4_000;
const HEAD_START_BYTES = 8 * 1024;
const HEAD_MAX_BYTES = 64 * 1024;

/** A network failure the retry policy recognises by its code, as it does Node's own. */
function networkError(code: 'ECONNRESET' | 'ETIMEDOUT', message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** The response is framed in a way this reader leaves to node:http (no Content-Length). */
class FramingUnsupported extends Error {}

interface Head {
  statusCode: number;
  reason: string;
  headers: Record<string, string>;
  keepAlive: boolean;
}

interface Response extends Head {
  body: Buffer;
}

interface Exchange {
  into: Buffer | undefined;
  head: Head | null;
  body: Buffer | null;
  filled: number;
  resolve(response: Response): void;
  reject(err: Error): void;
}

/** One keep-alive connection; it reads the head into scratch memory and the body into its own buffer. */
class Connection {
  readonly socket: Socket;
  private scratch = Buffer.allocUnsafe(HEAD_START_BYTES);
  private headBytes = 0;
  private exchange: Exchange | null = null;
  closed = false;
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
      this.closed = true;
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

  request(text: string, into: Buffer | undefined): Promise<Response> {
    return new Promise((resolve, reject) => {
      this.exchange = { into, head: null, body: null, filled: 0, resolve, reject };
      this.headBytes = 0;
      this.answered = false;
      this.socket.setTimeout(this.requestTimeoutMs);
      this.socket.write(text);
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
    if (exchange?.body) return exchange.body.subarray(exchange.filled);
    if (this.headBytes === this.scratch.length && this.scratch.length < HEAD_MAX_BYTES) {
      const grown = Buffer.allocUnsafe(this.scratch.length * 2);
      this.scratch.copy(grown, 0, 0, this.headBytes);
      this.scratch = grown;
    }
    return this.scratch.subarray(this.headBytes);
  }

  /** Always true: keep reading (a body buffer is never over-filled, it is sized to the response). */
  private onRead(bytes: number): boolean {
    this.received(bytes);
    return true;
  }

  private received(bytes: number): void {
    const exchange = this.exchange;
    if (!exchange) {
      this.socket.destroy();
      return;
    }
    this.answered = true;
    if (exchange.body) {
      exchange.filled += bytes;
    } else {
      this.headBytes += bytes;
      try {
        if (!this.takeHead(exchange)) return;
      } catch (err) {
        this.fail(err as Error);
        this.socket.destroy();
        return;
      }
    }
    const body = exchange.body!;
    if (exchange.filled < body.length) return;
    this.exchange = null;
    exchange.resolve({ ...exchange.head!, body });
  }

  /** Parses the head once it is complete, and moves the body bytes that came with it; false until then. */
  private takeHead(exchange: Exchange): boolean {
    const end = this.scratch.subarray(0, this.headBytes).indexOf('\r\n\r\n');
    if (end < 0) {
      if (this.headBytes === HEAD_MAX_BYTES) throw new Error(`a response head over ${HEAD_MAX_BYTES} bytes`);
      return false;
    }
    const head = parseHead(this.scratch.toString('latin1', 0, end));
    const bodyStart = end + 4;
    if (head.statusCode < 200) {
      // An informational answer (100 Continue) precedes the real one.
      this.scratch.copy(this.scratch, 0, bodyStart, this.headBytes);
      this.headBytes -= bodyStart;
      return this.takeHead(exchange);
    }
    const lengthText = head.headers['content-length'];
    if (lengthText === undefined || !/^\d+$/.test(lengthText)) throw new FramingUnsupported(`a response without Content-Length (status ${head.statusCode})`);
    const length = Number(lengthText);
    const success = head.statusCode === 200 || head.statusCode === 206;
    const body = success && exchange.into && length <= exchange.into.length ? exchange.into.subarray(0, length) : Buffer.allocUnsafe(length);
    const early = this.headBytes - bodyStart;
    if (early > length) throw new Error(`${early - length} bytes beyond the announced body`);
    this.scratch.copy(body, 0, bodyStart, this.headBytes);
    exchange.head = head;
    exchange.body = body;
    exchange.filled = early;
    this.headBytes = 0;
    return true;
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
  const status = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/.exec(lines[0] ?? '');
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
  return { statusCode: Number(status[2]), reason: status[3] ?? '', headers, keepAlive };
}

/** RFC 3986 escaping, as the SDK's query builder and signer use it. */
function escape(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function requestText(request: HttpRequest): string {
  const query = Object.entries(request.query ?? {}).flatMap(([key, value]) => {
    if (value === null || value === undefined) return [escape(key)];
    return (Array.isArray(value) ? value : [value]).map((item) => `${escape(key)}=${escape(item)}`);
  });
  const target = query.length > 0 ? `${request.path}?${query.join('&')}` : request.path;
  const headers = { ...request.headers };
  if (!Object.keys(headers).some((name) => name.toLowerCase() === 'host')) {
    headers['host'] = request.port ? `${request.hostname}:${request.port}` : request.hostname;
  }
  let text = `GET ${target} HTTP/1.1\r\n`;
  for (const [name, value] of Object.entries(headers)) text += `${name}: ${value}\r\n`;
  return `${text}\r\n`;
}

export class DirectGetHandler {
  readonly metadata = { handlerProtocol: 'http/1.1' };
  private readonly fallback: NodeHttpHandler;
  private readonly idle = new Map<string, Connection[]>();
  private open = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly options: DirectGetHandlerOptions) {
    this.fallback = new NodeHttpHandler(options);
  }

  async handle(request: HttpRequest, options: DirectGetOptions = {}): Promise<{ response: HttpResponse }> {
    const { into, ...sdkOptions } = options;
    if (!into || request.method !== 'GET' || request.protocol !== 'http:' || request.body !== undefined || options.abortSignal) {
      return this.fallback.handle(request, sdkOptions);
    }
    const text = requestText(request);
    const origin = `${request.hostname}:${request.port ?? 80}`;
    let response: Response;
    try {
      response = await this.exchange(origin, request.hostname, request.port ?? 80, text, into);
    } catch (err) {
      if (!(err instanceof FramingUnsupported)) throw err;
      return this.fallback.handle(request, sdkOptions);
    }
    return {
      response: {
        statusCode: response.statusCode,
        reason: response.reason,
        headers: response.headers,
        body: Readable.from([response.body], { objectMode: false }),
      },
    };
  }

  updateHttpClientConfig(key: keyof NodeHttpHandlerOptions, value: NodeHttpHandlerOptions[typeof key]): void {
    this.fallback.updateHttpClientConfig(key, value);
  }

  httpHandlerConfigs(): NodeHttpHandlerOptions {
    return this.fallback.httpHandlerConfigs();
  }

  destroy(): void {
    for (const connections of this.idle.values()) for (const connection of connections) connection.destroy();
    this.idle.clear();
    this.fallback.destroy();
  }

  /** One request and its response; a reused socket that the server had closed is replaced once. */
  private async exchange(origin: string, host: string, port: number, text: string, into: Buffer): Promise<Response> {
    for (;;) {
      const connection = await this.take(origin, host, port);
      try {
        const response = await connection.request(text, into);
        if (response.keepAlive) this.park(origin, connection);
        else connection.destroy();
        return response;
      } catch (err) {
        connection.destroy();
        if (!connection.reused || connection.answered) throw err;
      }
    }
  }

  private async take(origin: string, host: string, port: number): Promise<Connection> {
    for (;;) {
      const pooled = this.idle.get(origin);
      while (pooled && pooled.length > 0) {
        const connection = pooled.pop()!;
        if (!connection.closed) return connection;
      }
      if (this.open < this.options.maxSockets) break;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.open++;
    const connection = new Connection(host, port, this.options.requestTimeout, (closed) => this.forget(origin, closed));
    await connection.ready(this.options.connectionTimeout);
    return connection;
  }

  private park(origin: string, connection: Connection): void {
    connection.park();
    const pooled = this.idle.get(origin) ?? [];
    pooled.push(connection);
    this.idle.set(origin, pooled);
    this.waiting.shift()?.();
  }

  private forget(origin: string, connection: Connection): void {
    this.open--;
    this.waiting.shift()?.();
    const pooled = this.idle.get(origin);
    const at = pooled?.indexOf(connection) ?? -1;
    if (pooled && at >= 0) pooled.splice(at, 1);
  }
}
