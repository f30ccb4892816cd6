/**
 * WebSocket at /ws: Redis pub/sub bridged to clients. One Redis subscriber connection per
 * gateway, shared by every client; a Redis channel is subscribed while at least one client
 * wants it. Each Redis message (one JSON array of updates per channel per engine batch) is
 * wrapped once as `{"stream": "...", "data": [...]}` and the same string goes to every client of
 * that stream. A client that does not read fast enough (more than WS_MAX_BUFFERED_BYTES queued)
 * is cut off instead of growing the gateway's memory.
 *
 * Protocol (JSON text frames):
 *   -> {"method":"SUBSCRIBE","params":["depth@SOL_USDC","trade@SOL_USDC"],"id":1}
 *   <- {"id":1,"result":null}
 *   -> {"method":"UNSUBSCRIBE","params":["trade@SOL_USDC"],"id":2}
 *   -> {"method":"LIST_SUBSCRIPTIONS","id":3}            <- {"id":3,"result":["depth@SOL_USDC"]}
 *   -> {"method":"AUTH","params":["<apiKey>"],"id":4}     <- {"id":4,"result":{"userId":"7"}}
 *   then "user" is the caller's own order, fill and balance updates.
 *   errors: {"id":1,"error":{"code":"INVALID_REQUEST","message":"..."}}
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Redis } from 'ioredis';
import { WebSocket, WebSocketServer } from 'ws';
import { INTERVALS } from '../services/history/intervals';
import type { Logger } from '../services/lib/logger';
import type { RedisKeys } from '../services/lib/redis-keys';
import type { Authenticator } from './auth';
import { ApiError } from './errors';
import type { GatewayMetrics } from './metrics';
import { textFrame } from './ws-frame';

const MARKET_STREAM = new RegExp(
  `^(depth|trade|ticker|kline\\.(${INTERVALS.join('|')}))@([A-Z0-9]{1,16}_[A-Z0-9]{1,16})$`,
);
const MAX_STREAMS_PER_CLIENT = 200;
const HEARTBEAT_MS = 30_000;

interface Client {
  readonly ws: WebSocket;
  /** The connection under `ws`: market data is written to it as ready-made frames. */
  readonly socket: Duplex;
  /** The client's address, for the limit on key look-ups. */
  readonly ip: string;
  /** Stream name -> Redis channel. */
  readonly streams: Map<string, string>;
  userId: string | null;
  alive: boolean;
}

interface Request {
  method?: unknown;
  params?: unknown;
  id?: unknown;
}

export interface WsBridgeOptions {
  readonly server: Server;
  readonly subscriber: Redis;
  readonly keys: RedisKeys;
  readonly auth: Authenticator;
  readonly metrics: GatewayMetrics;
  readonly log: Logger;
  readonly maxBufferedBytes: number;
}

export class WsBridge {
  private readonly wss: WebSocketServer;
  /** Redis channel -> its stream name and the clients that want it. */
  private readonly channels = new Map<
    string,
    { stream: string; clients: Set<Client>; subscribed: Promise<void> }
  >();
  private readonly clients = new Set<Client>();
  private readonly heartbeat: NodeJS.Timeout;

  constructor(private readonly o: WsBridgeOptions) {
    // No per-message compression: frames are written as built (see deliver).
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: 64 * 1024,
      perMessageDeflate: false,
    });
    o.server.on('upgrade', (req: IncomingMessage, socket, head) => {
      // Node drops its own error listener once it emits 'upgrade' and ws adds one only inside
      // handleUpgrade: until then a reset connection would be an unhandled error.
      const onError = () => socket.destroy();
      socket.on('error', onError);
      const upgrade = (userId: string | null) => {
        socket.removeListener('error', onError);
        this.wss.handleUpgrade(req, socket, head, (ws) => this.connected(ws, socket, userId));
      };
      const refuse = (line: string) => {
        socket.end(`HTTP/1.1 ${line}\r\nConnection: close\r\n\r\n`);
      };
      const path = (req.url ?? '').split('?')[0];
      if (path !== '/ws') {
        refuse('404 Not Found');
        return;
      }
      const header = req.headers.authorization;
      if (header === undefined) {
        upgrade(null);
        return;
      }
      // A key in the upgrade request authenticates the connection before it opens.
      const ip = req.socket.remoteAddress ?? 'unknown';
      o.auth.authenticate(header, ip).then(
        ([userId]) => {
          if (!socket.destroyed) upgrade(userId);
        },
        (err: unknown) => {
          const status = err instanceof ApiError ? err.status : 503;
          refuse(
            status === 401
              ? '401 Unauthorized'
              : status === 429
                ? '429 Too Many Requests'
                : '503 Service Unavailable',
          );
        },
      );
    });
    o.subscriber.on('message', (channel: string, message: string) =>
      this.deliver(channel, message),
    );
    this.heartbeat = setInterval(() => this.ping(), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** Says goodbye to every client, and cuts off those that do not answer within a second. */
  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    const gone = [...this.clients].map(
      (c) => new Promise<void>((resolve) => c.ws.once('close', () => resolve())),
    );
    for (const c of this.clients) c.ws.close(1001, 'server shutting down');
    const cutOff = setTimeout(() => {
      for (const c of this.clients) c.ws.terminate();
    }, 1_000);
    await Promise.all([...gone, new Promise<void>((resolve) => this.wss.close(() => resolve()))]);
    clearTimeout(cutOff);
  }

  private connected(ws: WebSocket, socket: Duplex, userId: string | null): void {
    const ip = (socket as Duplex & { remoteAddress?: string }).remoteAddress ?? 'unknown';
    const client: Client = { ws, socket, ip, streams: new Map(), userId, alive: true };
    this.clients.add(client);
    this.o.metrics.wsClients.inc();
    ws.on('pong', () => (client.alive = true));
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        this.reply(
          client,
          null,
          undefined,
          new ApiError(400, 'INVALID_REQUEST', 'send text frames'),
        );
        return;
      }
      void this.handle(client, String(data));
    });
    ws.on('close', () => this.disconnected(client));
    ws.on('error', () => ws.terminate());
  }

  private disconnected(client: Client): void {
    if (!this.clients.delete(client)) return;
    this.o.metrics.wsClients.dec();
    for (const channel of client.streams.values()) this.leave(client, channel);
    client.streams.clear();
  }

  private async handle(client: Client, text: string): Promise<void> {
    let req: Request;
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error();
      req = parsed as Request;
    } catch {
      this.reply(client, null, undefined, new ApiError(400, 'MALFORMED_JSON', 'not a JSON object'));
      return;
    }
    const id = typeof req.id === 'number' || typeof req.id === 'string' ? req.id : null;
    try {
      this.reply(client, id, await this.run(client, req));
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError(500, 'INTERNAL', 'internal error');
      if (!(err instanceof ApiError)) this.o.log.error({ err }, 'websocket request failed');
      this.reply(client, id, undefined, e);
    }
  }

  private async run(client: Client, req: Request): Promise<unknown> {
    const params = req.params ?? [];
    if (!Array.isArray(params) || !params.every((p) => typeof p === 'string')) {
      throw new ApiError(400, 'INVALID_REQUEST', 'params must be an array of strings');
    }
    switch (req.method) {
      case 'SUBSCRIBE': {
        const wanted = params.map((s) => [s, this.channelOf(client, s)] as const);
        if (client.streams.size + wanted.length > MAX_STREAMS_PER_CLIENT) {
          throw new ApiError(
            400,
            'TOO_MANY_STREAMS',
            `at most ${MAX_STREAMS_PER_CLIENT} streams per connection`,
          );
        }
        const joins: Promise<void>[] = [];
        for (const [stream, channel] of wanted) {
          if (client.streams.has(stream)) continue;
          client.streams.set(stream, channel);
          joins.push(this.join(client, stream, channel));
        }
        await Promise.all(joins);
        return null;
      }
      case 'UNSUBSCRIBE':
        for (const stream of params) {
          const channel = client.streams.get(stream);
          if (channel === undefined) continue;
          client.streams.delete(stream);
          this.leave(client, channel);
        }
        return null;
      case 'LIST_SUBSCRIPTIONS':
        return [...client.streams.keys()];
      case 'AUTH': {
        if (params.length !== 1) throw new ApiError(400, 'INVALID_REQUEST', 'params: [apiKey]');
        const [userId] = await this.o.auth.authenticate(`Bearer ${params[0]}`, client.ip);
        client.userId = userId;
        return { userId };
      }
      default:
        throw new ApiError(
          400,
          'INVALID_REQUEST',
          'method must be SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS or AUTH',
        );
    }
  }

  /** The Redis channel of a stream name, or a 400 for a name that is not a stream. */
  private channelOf(client: Client, stream: string): string {
    if (stream === 'user') {
      if (client.userId === null) {
        throw new ApiError(401, 'UNAUTHENTICATED', 'AUTH first to subscribe to "user"');
      }
      return this.o.keys.user(client.userId);
    }
    const m = MARKET_STREAM.exec(stream);
    if (m === null) {
      throw new ApiError(
        400,
        'INVALID_STREAM',
        `unknown stream "${stream.slice(0, 64)}": use depth@, trade@, ticker@ or kline.<interval>@ and a market, or "user"`,
      );
    }
    const [, kind, interval, market] = m;
    if (kind === 'depth') return this.o.keys.depth(market);
    if (kind === 'trade') return this.o.keys.trades(market);
    if (kind === 'ticker') return this.o.keys.ticker(market);
    return this.o.keys.kline(interval, market);
  }

  private async join(client: Client, stream: string, channel: string): Promise<void> {
    let entry = this.channels.get(channel);
    if (entry === undefined) {
      const created = {
        stream,
        clients: new Set<Client>(),
        subscribed: this.o.subscriber.subscribe(channel).then(() => undefined),
      };
      entry = created;
      this.channels.set(channel, created);
      // A failed SUBSCRIBE must not leave a silent entry behind for later clients.
      created.subscribed.catch(() => {
        if (this.channels.get(channel) === created) this.channels.delete(channel);
        for (const c of created.clients) {
          for (const [s, ch] of c.streams) if (ch === channel) c.streams.delete(s);
        }
      });
    }
    entry.clients.add(client);
    try {
      await entry.subscribed;
    } catch {
      throw new ApiError(503, 'UNAVAILABLE', 'market data is unavailable, retry shortly');
    }
  }

  private leave(client: Client, channel: string): void {
    const entry = this.channels.get(channel);
    if (entry === undefined) return;
    entry.clients.delete(client);
    if (entry.clients.size === 0) {
      this.channels.delete(channel);
      this.o.subscriber.unsubscribe(channel).catch((err: unknown) => {
        this.o.log.warn({ err, channel }, 'unsubscribe failed');
      });
    }
  }

  private deliver(channel: string, message: string): void {
    const entry = this.channels.get(channel);
    if (entry === undefined) return;
    // The user channel's stream name is "user" for every user.
    const stream = entry.stream;
    // Framed once for every client: the same bytes are written to each socket. Replies and
    // pings go through ws on the same socket; without compression ws never holds frames back,
    // so the order of everything written stays the order it was sent in.
    const frame = textFrame(`{"stream":${JSON.stringify(stream)},"data":${message}}`);
    let sent = 0;
    for (const client of entry.clients) {
      if (client.ws.readyState !== WebSocket.OPEN) continue;
      if (client.ws.bufferedAmount > this.o.maxBufferedBytes) {
        // Cut off at once: a close frame would only queue behind what it does not read.
        this.o.metrics.wsDropped.inc();
        client.ws.terminate();
        continue;
      }
      client.socket.write(frame);
      sent++;
    }
    this.o.metrics.wsMessages.inc(sent);
  }

  private reply(client: Client, id: unknown, result: unknown, error?: ApiError): void {
    if (client.ws.readyState !== WebSocket.OPEN) return;
    const body =
      error === undefined
        ? { id, result: result ?? null }
        : { id, error: { code: error.code, message: error.message } };
    client.ws.send(JSON.stringify(body));
  }

  private ping(): void {
    for (const c of this.clients) {
      if (!c.alive) {
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      c.ws.ping();
    }
  }
}
