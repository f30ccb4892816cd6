/**
 * The History persister: the one writer of the history tables. It consumes the engine's events
 * stream through a consumer group and writes what it reads in one Postgres transaction, then
 * acknowledges (XACK) the entries: a crash before the commit leaves them pending and they are
 * read again; a crash between commit and ack redelivers them, and the high-water mark
 * (`history_progress.last_seq`, updated in the same transaction) makes that write nothing.
 * On start it first reads its own pending entries, then claims entries other consumers left
 * pending for too long, then follows new entries.
 *
 * Once a batch commits, the candles it touched go out on the kline channels (best effort, with the
 * ack): a redelivery that writes nothing publishes nothing.
 */
import { EVENTS_FORMAT } from '../engine/codec';
import type { Logger } from '../lib/logger';
import type { PostgresManager } from '../lib/postgres-manager';
import type { RedisKeys } from '../lib/redis-keys';
import { RedisManager, compareStreamIds } from '../lib/redis-manager';
import { decodeUsedEvents, prepareEvents, type PreparedBatch, type Wire } from './batch-writer';
import { KlinePublisher } from './kline-publisher';
import { MarketSpecs } from './market-specs';

export interface PersisterOptions {
  /** Consumer name within the group; a restarted persister must reuse it to see its pending. */
  readonly consumer?: string;
  /** Stream entries read (and written in one transaction) at most at once. */
  readonly count?: number;
  /** How long one blocking read waits; `stop` waits for it (plus a linger and a commit). */
  readonly blockMs?: number;
  /**
   * Group commit: after a read that did not fill a batch, wait this long (and for the commit in
   * flight) and take what arrived meanwhile into the same transaction. Fewer, larger
   * transactions cost Postgres and the persister far less per event at moderate rates; the
   * price is up to this much more lag. 0 (the default here; the service sets
   * HISTORY_LINGER_MS): write each read as it comes.
   */
  readonly lingerMs?: number;
  /** Entries pending this long on another consumer are claimed. */
  readonly claimIdleMs?: number;
  /** Test hook: runs inside the transaction after the writes (a throw rolls it back). */
  readonly beforeCommit?: () => void;
  /** Test hook: runs after the commit, before the ack (a throw there is a crash in that gap). */
  readonly afterCommit?: () => void;
  /** How often entries that are persisted and acknowledged are trimmed from the stream (0: never). */
  readonly trimEveryMs?: number;
}

export interface PersisterLag {
  /** Highest event seq written to Postgres. */
  readonly persistedSeq: number;
  /** Highest event seq in the stream. */
  readonly streamSeq: number;
  /** streamSeq - persistedSeq. */
  readonly events: number;
  /** Entries in the stream (the persister trims what it has persisted, keeping the newest). */
  readonly streamLength: number;
  /** Id of the newest entry in the stream, "0-0" if none. */
  readonly lastEntryId: string;
  /** Id of the newest entry delivered to the group. */
  readonly lastDeliveredId: string;
  /** Entries delivered but not acknowledged yet. */
  readonly pending: number;
  /** Everything in the stream is delivered, written and acknowledged. */
  readonly caughtUp: boolean;
}

type RawEntry = [string, string[]];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Prepared {
  /** The events the writer uses (no balance or depth events), in order. */
  readonly events: readonly Wire[];
  /** The highest event seq in the entries (the entry's `last`): the new high-water mark. */
  readonly lastSeq: number;
  readonly batch: PreparedBatch;
}

export class Persister {
  readonly specs = new MarketSpecs();
  private persistedSeq = 0;
  private stopped = false;
  private running: Promise<void> | null = null;
  private readonly consumer: string;
  private readonly count: number;
  private readonly blockMs: number;
  private readonly lingerMs: number;
  private readonly claimIdleMs: number;
  private lastLagLog = 0;
  private lastTrim = 0;
  /** Id of the newest entry this persister has committed and acknowledged. */
  private lastAckedId: string | null = null;
  private readonly klines: KlinePublisher;

  private constructor(
    private readonly db: PostgresManager,
    private readonly redis: RedisManager,
    /** Own connection for the blocking XREADGROUP. */
    private readonly reader: RedisManager,
    private readonly keys: RedisKeys,
    private readonly log: Logger,
    private readonly options: PersisterOptions,
  ) {
    this.consumer = options.consumer ?? 'history-1';
    this.count = options.count ?? 200;
    this.blockMs = options.blockMs ?? 250;
    this.lingerMs = options.lingerMs ?? 0;
    this.claimIdleMs = options.claimIdleMs ?? 60_000;
    this.klines = new KlinePublisher(redis.client, keys, log);
  }

  static async create(
    db: PostgresManager,
    redisUrl: string,
    keys: RedisKeys,
    log: Logger,
    options: PersisterOptions = {},
  ): Promise<Persister> {
    const redis = await RedisManager.connect(redisUrl, { name: 'history:persister' });
    const reader = await RedisManager.connect(redisUrl, { name: 'history:persister:read' });
    const p = new Persister(db, redis, reader, keys, log, options);
    try {
      await p.init();
    } catch (err) {
      await p.close();
      throw err;
    }
    return p;
  }

  private async init(): Promise<void> {
    try {
      await this.redis.client.xgroup(
        'CREATE',
        this.keys.events,
        this.keys.historyGroup,
        '0',
        'MKSTREAM',
      );
    } catch (err) {
      if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
    }
    await this.specs.load(this.db.pool);
    const row = await this.db.query<{ last_seq: string }>(
      'SELECT last_seq FROM history_progress WHERE id = 1',
    );
    this.persistedSeq = Number(row.rows[0]?.last_seq ?? 0);
  }

  /** Starts consuming in the background; `stop` ends it. */
  start(): void {
    this.running ??= this.run();
  }

  private stopping: Promise<void> | null = null;

  /** Ends consumption after the batch in hand (unacknowledged entries stay pending). */
  stop(): Promise<void> {
    this.stopped = true;
    return (this.stopping ??= (async () => {
      await this.running;
      await this.close();
    })());
  }

  private async close(): Promise<void> {
    await this.reader.close();
    await this.redis.close();
  }

  /** How far Postgres trails the events stream. */
  async lag(): Promise<PersisterLag> {
    const [last, length, found] = await Promise.all([
      this.redis.last(this.keys.events),
      this.redis.client.xlen(this.keys.events),
      this.redis.group(this.keys.events, this.keys.historyGroup),
    ]);
    const streamSeq = last === undefined ? 0 : Number(last.fields.last);
    const group = found ?? {};
    const lastEntryId = last?.id ?? '0-0';
    const lastDeliveredId = String(group['last-delivered-id'] ?? '0-0');
    const pending = Number(group.pending ?? 0);
    const events = Math.max(0, streamSeq - this.persistedSeq);
    return {
      persistedSeq: this.persistedSeq,
      streamSeq,
      events,
      streamLength: length,
      lastEntryId,
      lastDeliveredId,
      pending,
      caughtUp: events === 0 && pending === 0 && lastDeliveredId === lastEntryId,
    };
  }

  private async run(): Promise<void> {
    let pendingFirst = true;
    /** The previous batch's commit and ack, overlapping the next read and preparation. */
    let inflight: Promise<void> | null = null;
    while (!this.stopped) {
      try {
        if (pendingFirst) {
          await this.drainPending();
          await this.claimStale();
          pendingFirst = false;
        }
        const entries = await this.read('>', this.blockMs);
        if (entries.length > 0 && entries.length < this.count && this.lingerMs > 0) {
          // A short read: let more arrive (at least until the commit in flight is done) and
          // write it all in one transaction.
          await Promise.all([inflight, sleep(this.lingerMs)]);
          const more = await this.read('>', undefined, this.count - entries.length);
          for (const entry of more) entries.push(entry);
        }
        if (entries.length > 0) {
          const batch = await this.prepare(entries);
          await inflight;
          inflight = this.commit(entries, batch);
          // Its failure surfaces at the next await; keep it from being "unhandled" meanwhile.
          inflight.catch(() => undefined);
        } else {
          await inflight;
          inflight = null;
        }
        await this.maybeLogLag();
      } catch (err) {
        await inflight?.catch(() => undefined);
        inflight = null;
        if (this.stopped) break;
        // Postgres or Redis trouble: what was not acknowledged is still pending; read it again.
        this.log.error({ err }, 'persister batch failed; retrying from pending entries');
        pendingFirst = true;
        await sleep(200);
      }
    }
    await inflight?.catch(() => undefined);
  }

  /** This consumer's entries that were delivered but never acknowledged. */
  private async drainPending(): Promise<void> {
    let after = '0';
    while (!this.stopped) {
      const entries = await this.read(after);
      if (entries.length === 0) return;
      await this.persist(entries);
      after = entries[entries.length - 1][0];
    }
  }

  /** Entries another consumer (a dead persister) left pending for more than claimIdleMs. */
  private async claimStale(): Promise<void> {
    let start = '0-0';
    while (!this.stopped) {
      const reply = (await this.redis.client.xautoclaim(
        this.keys.events,
        this.keys.historyGroup,
        this.consumer,
        this.claimIdleMs,
        start,
        'COUNT',
        this.count,
      )) as [string, (RawEntry | null)[]];
      const entries = reply[1].filter((e): e is RawEntry => e !== null && e[1] !== null);
      if (entries.length > 0) await this.persist(entries);
      if (reply[0] === '0-0') return;
      start = reply[0];
    }
  }

  private async read(id: string, blockMs?: number, count = this.count): Promise<RawEntry[]> {
    const args: (string | number)[] = ['GROUP', this.keys.historyGroup, this.consumer];
    args.push('COUNT', count);
    if (blockMs !== undefined) args.push('BLOCK', blockMs);
    args.push('STREAMS', this.keys.events, id);
    const reply = (await (
      this.reader.client as unknown as {
        xreadgroup(...a: (string | number)[]): Promise<[string, RawEntry[]][] | null>;
      }
    ).xreadgroup(...args)) as [string, RawEntry[]][] | null;
    if (reply === null || reply.length === 0) return [];
    return reply[0][1];
  }

  /** Writes the entries in one transaction, then acknowledges them. */
  private async persist(entries: readonly RawEntry[]): Promise<void> {
    await this.commit(entries, await this.prepare(entries));
  }

  /** Decodes the entries and builds their statements (no I/O). */
  private async prepare(entries: readonly RawEntry[]): Promise<Prepared> {
    const events: Wire[] = [];
    let lastSeq = 0;
    for (const [id, flat] of entries) {
      let last = 0;
      for (let i = 0; i + 1 < flat.length; i += 2) {
        if (flat[i] === 'last') last = Number(flat[i + 1]);
        else if (flat[i] === 'v' && flat[i + 1] !== EVENTS_FORMAT) {
          throw new Error(
            `events entry ${id} is in format ${flat[i + 1]}; this History service reads format ` +
              `${EVENTS_FORMAT}: upgrade it`,
          );
        } else if (flat[i] === 'e') for (const e of decodeUsedEvents(flat[i + 1])) events.push(e);
      }
      lastSeq = Math.max(lastSeq, last, events.length > 0 ? events[events.length - 1].seq : 0);
    }
    return { events, lastSeq, batch: await prepareEvents(this.specs, events) };
  }

  /**
   * One transaction: the statements of the events above the high-water mark, and the new mark.
   * Then the ack. A batch that is partly below the mark (a redelivery overlapping new events)
   * is prepared again from its new events only. The candles it wrote are published together with
   * the ack (best effort: a failed publish is logged, the ack still happens).
   */
  private async commit(entries: readonly RawEntry[], prepared: Prepared): Promise<void> {
    const { events, lastSeq: seq } = prepared;
    const { last, candles } = await this.db.transaction(async (client) => {
      const row = await client.query<{ last_seq: string }>(
        'SELECT last_seq FROM history_progress WHERE id = 1 FOR UPDATE',
      );
      const done = Number(row.rows[0].last_seq);
      if (seq <= done) return { last: done, candles: [] };
      let batch: PreparedBatch = prepared.batch;
      if (events.length > 0 && events[0].seq <= done) {
        batch = await prepareEvents(
          this.specs,
          events.filter((e) => e.seq > done),
        );
      }
      const written = await batch.writeTo(client);
      this.options.beforeCommit?.();
      await client.query(
        'UPDATE history_progress SET last_seq = $1, updated_at = now() WHERE id = 1',
        [seq],
      );
      return { last: seq, candles: written.candles };
    });
    this.persistedSeq = Math.max(this.persistedSeq, last);
    this.options.afterCommit?.();
    // Queued before the ack on the same connection, so both go out together; never rejects.
    const published = this.klines.publish(candles);
    await this.redis.client.xack(
      this.keys.events,
      this.keys.historyGroup,
      ...entries.map((e) => e[0]),
    );
    await published;
    this.lastAckedId = entries[entries.length - 1][0];
    await this.maybeTrim();
  }

  /**
   * Drops the entries older than both what this persister acknowledged last and the oldest entry
   * still pending in the group (another consumer's, not yet written). MINID keeps the entry it
   * names, so the newest entry always stays: the engine reads it on recovery.
   */
  private async maybeTrim(): Promise<void> {
    const every = this.options.trimEveryMs ?? 5_000;
    const now = Date.now();
    if (every === 0 || this.lastAckedId === null || now - this.lastTrim < every) return;
    this.lastTrim = now;
    try {
      const [pending, oldest] = (await this.redis.client.xpending(
        this.keys.events,
        this.keys.historyGroup,
      )) as [number, string | null];
      const minId =
        pending > 0 && oldest !== null && compareStreamIds(oldest, this.lastAckedId) < 0
          ? oldest
          : this.lastAckedId;
      await this.redis.client.xtrim(this.keys.events, 'MINID', minId);
    } catch (err) {
      // The batch is committed and acknowledged: a failed trim is retried at the next one.
      this.log.warn({ err }, 'trimming the events stream failed');
    }
  }

  private async maybeLogLag(): Promise<void> {
    const now = Date.now();
    if (now - this.lastLagLog < 10_000) return;
    this.lastLagLog = now;
    this.log.info(await this.lag(), 'persister lag');
  }
}
