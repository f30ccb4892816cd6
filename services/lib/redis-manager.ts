/**
 * RedisManager: the seed's push, pop, publish and subscribe, over Redis streams and pub/sub.
 *
 * `push` appends an entry to a stream (XADD) and `pop` reads the entries after an id (XREAD,
 * optionally blocking). Blocking reads and subscriptions each get a connection of their own, so
 * they never hold up ordinary commands. Connecting fails fast with {@link RedisUnavailable}
 * instead of retrying forever, so a service can say so and exit.
 */
import { Redis, type ChainableCommander } from 'ioredis';

export interface StreamEntry {
  readonly id: string;
  /** Field/value pairs of the entry. */
  readonly fields: Record<string, string>;
}

export class RedisUnavailable extends Error {
  override readonly name = 'RedisUnavailable';
}

export interface RedisManagerOptions {
  /** Connection name, shown in CLIENT LIST. */
  readonly name?: string;
  /** How long connecting may take before giving up. */
  readonly connectTimeoutMs?: number;
  /**
   * Send the commands issued in one tick as one write (ioredis auto-pipelining): fewer system
   * calls when many callers each send one command (the gateway's rate limits).
   */
  readonly autoPipelining?: boolean;
}

export class RedisManager {
  private blockingClient: Redis | null = null;
  private subscriber: Redis | null = null;
  private readonly handlers = new Map<string, Set<(message: string) => void>>();

  private constructor(
    private readonly url: string,
    private readonly options: RedisManagerOptions,
    /** The connection for ordinary commands; exposed for pipelines. */
    readonly client: Redis,
  ) {}

  static async connect(url: string, options: RedisManagerOptions = {}): Promise<RedisManager> {
    const client = await open(
      url,
      options.name ?? 'exchange',
      options.connectTimeoutMs ?? 5000,
      options.autoPipelining ?? false,
    );
    return new RedisManager(url, options, client);
  }

  /** Appends an entry to a stream; returns its id. */
  async push(stream: string, fields: Record<string, string>): Promise<string> {
    const args: string[] = [];
    for (const [k, v] of Object.entries(fields)) args.push(k, v);
    const id = await this.client.xadd(stream, '*', ...args);
    if (id === null) throw new Error(`XADD to ${stream} returned no id`);
    return id;
  }

  /**
   * Reads up to `count` entries after `afterId` ("0-0" for the start). With `blockMs`, waits up
   * to that long for new ones (on a connection of its own) and returns [] on time-out.
   */
  async pop(
    stream: string,
    afterId: string,
    count: number,
    blockMs?: number,
  ): Promise<StreamEntry[]> {
    let reply: [string, [string, string[]][]][] | null;
    if (blockMs === undefined) {
      reply = (await this.client.xread('COUNT', count, 'STREAMS', stream, afterId)) as typeof reply;
    } else {
      const blocking = await this.blocking();
      reply = (await blocking.xread(
        'COUNT',
        count,
        'BLOCK',
        blockMs,
        'STREAMS',
        stream,
        afterId,
      )) as typeof reply;
    }
    if (reply === null || reply.length === 0) return [];
    return reply[0][1].map(toEntry);
  }

  /** Entries after `afterId` (exclusive), oldest first, at most `count`. */
  async range(stream: string, afterId: string, count: number): Promise<StreamEntry[]> {
    const start = afterId === '0-0' ? '-' : `(${afterId}`;
    const reply = await this.client.xrange(stream, start, '+', 'COUNT', count);
    return reply.map(toEntry);
  }

  /** The newest entry of a stream, if any. */
  async last(stream: string): Promise<StreamEntry | undefined> {
    const reply = await this.client.xrevrange(stream, '+', '-', 'COUNT', 1);
    return reply.length === 0 ? undefined : toEntry(reply[0]);
  }

  /**
   * A consumer group of a stream as `XINFO GROUPS` describes it (`pending`,
   * `last-delivered-id`, ...), or undefined if the stream has no such group.
   */
  async group(stream: string, name: string): Promise<Record<string, unknown> | undefined> {
    const groups = (await this.client.xinfo('GROUPS', stream)) as unknown[][];
    return groups.map(fieldsOf).find((g) => g.name === name);
  }

  /** Drops the entries older than `minId`. */
  async trim(stream: string, minId: string): Promise<number> {
    return this.client.xtrim(stream, 'MINID', minId);
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.client.publish(channel, message);
  }

  /** Subscribes `handler` to `channel` (one shared subscriber connection); returns the undo. */
  async subscribe(
    channel: string,
    handler: (message: string) => void,
  ): Promise<() => Promise<void>> {
    const subscriber = await this.subscriberConnection();
    let set = this.handlers.get(channel);
    if (set === undefined) {
      set = new Set();
      this.handlers.set(channel, set);
      await subscriber.subscribe(channel);
    }
    set.add(handler);
    return async () => {
      const current = this.handlers.get(channel);
      if (current === undefined || !current.delete(handler) || current.size > 0) return;
      this.handlers.delete(channel);
      await subscriber.unsubscribe(channel);
    };
  }

  pipeline(): ChainableCommander {
    return this.client.pipeline();
  }

  async ping(): Promise<boolean> {
    return (await this.client.ping()) === 'PONG';
  }

  async close(): Promise<void> {
    const conns = [this.client, this.blockingClient, this.subscriber].filter(
      (c): c is Redis => c !== null,
    );
    // A blocked XREAD would hold QUIT back until it times out: disconnect that one outright.
    this.blockingClient?.disconnect();
    await Promise.allSettled(conns.filter((c) => c !== this.blockingClient).map((c) => c.quit()));
  }

  private async blocking(): Promise<Redis> {
    this.blockingClient ??= await open(
      this.url,
      `${this.options.name ?? 'exchange'}:blocking`,
      5000,
    );
    return this.blockingClient;
  }

  private async subscriberConnection(): Promise<Redis> {
    if (this.subscriber === null) {
      const sub = await open(this.url, `${this.options.name ?? 'exchange'}:sub`, 5000);
      sub.on('message', (channel: string, message: string) => {
        for (const handler of this.handlers.get(channel) ?? []) handler(message);
      });
      this.subscriber = sub;
    }
    return this.subscriber;
  }
}

/** A flat [name, value, name, value, ...] reply as a record. */
function fieldsOf(flat: readonly unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = flat[i + 1];
  return out;
}

function toEntry([id, flat]: [string, string[]]): StreamEntry {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]] = flat[i + 1];
  return { id, fields };
}

async function open(
  url: string,
  name: string,
  timeoutMs: number,
  autoPipelining = false,
): Promise<Redis> {
  const client = new Redis(url, {
    lazyConnect: true,
    enableAutoPipelining: autoPipelining,
    connectionName: name,
    connectTimeout: timeoutMs,
    // Never send a command twice: a command whose reply was lost (connection dropped) fails
    // instead of being re-sent after the reconnect, where an XADD would journal it twice.
    // The caller sees UNAVAILABLE with an unknown outcome, which is the truth.
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    // Reconnect after a drop, but only once we have been connected (the first attempt fails fast).
    retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
  });
  client.on('error', () => undefined); // errors surface through the commands that fail
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    throw new RedisUnavailable(`cannot reach Redis at ${redact(url)}: ${(err as Error).message}`);
  }
  return client;
}

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/** Orders two stream ids ("ms-seq"): negative, zero or positive. */
export function compareStreamIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number);
  const [bm, bs] = b.split('-').map(Number);
  return am !== bm ? am - bm : as - bs;
}
