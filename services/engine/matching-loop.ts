/**
 * The matching loop: the one reader of the command stream and the one writer of engine state.
 *
 * On start it loads the newest snapshot that restores (the one before it if the newest does
 * not), replays the journal after it, and only then serves; live traffic and replay go through
 * the same `applyEntries`. For each batch of entries it
 * applies every command to the core in stream order (seq = position, ts = the entry's stream
 * time), settles the callers waiting on them, then writes the batch's events to the events
 * stream (each event once: replay skips what was already written) and, when live, publishes
 * market data. Every N commands or T seconds it snapshots the state to Postgres and trims the
 * journal entries the snapshot before it covers.
 */
import {
  ExchangeCore,
  type ExchangeEvent,
  fromSnapshot,
  genesisCommands,
  type OrderView,
  captureSnapshot,
  type CommandBody,
} from './core';
import { decodeCommands, EVENTS_FORMAT, streamIdTime } from './codec';
import { EventsWriter } from './events-writer';
import type { CommandJournal } from './command-journal';
import { MarketDataPublisher } from './market-data-publisher';
import { RecentMap } from './recent-map';
import type { SnapshotStore, StoredSnapshot } from './snapshot-store';
import { snapshotText } from './snapshot-text';
import type { Logger } from '../lib/logger';
import type { RedisKeys } from '../lib/redis-keys';
import { compareStreamIds, type RedisManager } from '../lib/redis-manager';

export interface LoopOptions {
  readonly snapshotEveryCommands: number;
  readonly snapshotEverySeconds: number;
  readonly trimJournal: boolean;
  /** Entries read per XREAD / XRANGE. */
  readonly readCount?: number;
  /** How long one blocking read waits (bounds how fast `stop` returns). */
  readonly blockMs?: number;
  /** How often the set of subscribed channels is refreshed. */
  readonly listenersRefreshMs?: number;
}

export interface RecoveryReport {
  readonly fromSnapshot: boolean;
  /** Newer snapshots that did not restore and were passed over (each logged as an error). */
  readonly skippedSnapshots: number;
  readonly replayedCommands: number;
  readonly ms: number;
}

/** What a caller's result carries instead of the command's events (shared; never written to). */
const NO_EVENTS: ExchangeEvent[] = [];

/** How many closed orders at least stay answerable by GetOrder (up to twice as many do). */
const RECENT_CLOSED = 100_000;

export class MatchingLoop {
  core = new ExchangeCore();
  publisher: MarketDataPublisher;
  private lastStreamId = '0-0';
  private lastWrittenEventSeq = 0;
  private sinceSnapshot = 0;
  private lastSnapshotAt = Date.now();
  /** The stream id of the snapshot last stored, or restored from, if any: the next trim's mark. */
  private lastSnapshotStreamId: string | null = null;
  private snapshotting: Promise<void> | null = null;
  /** The events/market-data write of the previous batch, overlapping the next read. */
  private writing: Promise<void> = Promise.resolve();
  private stopping = false;
  private listeners: NodeJS.Timeout | null = null;
  /** Why the loop died, if it did: then nothing more is written, not even a snapshot. */
  private failed: Error | null = null;
  private running: Promise<void> | null = null;
  /** Recently closed orders, so GetOrder still answers for them until History has them. */
  private readonly recentClosed = new RecentMap<number, OrderView>(RECENT_CLOSED);
  /**
   * The same orders by user and client order id (`<user> <client order id>`), for those placed
   * with one. A user's orders with one client order id are open one at a time, so the one that
   * closed last is the newest.
   */
  private readonly recentClosedByClientId = new RecentMap<string, OrderView>(RECENT_CLOSED);
  private readonly eventsWriter = new EventsWriter();

  constructor(
    private readonly redis: RedisManager,
    private readonly keys: RedisKeys,
    private readonly journal: CommandJournal,
    private readonly snapshots: SnapshotStore,
    private readonly log: Logger,
    private readonly options: LoopOptions,
  ) {
    this.publisher = new MarketDataPublisher(this.core, keys);
  }

  /** Loads the newest snapshot that restores and replays the journal after it. Publishes nothing. */
  async recover(): Promise<RecoveryReport> {
    const started = performance.now();
    const snapshot = await this.restorableSnapshot();
    this.core = snapshot?.core ?? new ExchangeCore();
    this.lastSnapshotStreamId = snapshot?.streamId ?? null;
    this.publisher = new MarketDataPublisher(this.core, this.keys);
    this.lastStreamId = snapshot?.streamId ?? '0-0';
    const lastEvents = await this.redis.last(this.keys.events);
    this.lastWrittenEventSeq = Math.max(
      snapshot?.eventSeq ?? 0,
      lastEvents === undefined ? 0 : Number(lastEvents.fields.last),
    );
    if (
      snapshot === undefined &&
      (await this.redis.range(this.keys.commands, '0-0', 1)).length === 0
    ) {
      await this.journal.append(
        genesisCommands().map(({ seq: _s, ts: _t, ...body }) => body as CommandBody),
      );
    }
    // Replay, fetching the next chunk of the journal while applying the current one.
    const count = this.options.readCount ?? 1000;
    let replayed = 0;
    let next = this.redis.range(this.keys.commands, this.lastStreamId, count);
    for (;;) {
      const entries = await next;
      if (entries.length === 0) break;
      next = this.redis.range(this.keys.commands, entries[entries.length - 1].id, count);
      replayed += await this.applyEntries(entries, false);
    }
    return {
      fromSnapshot: snapshot !== undefined,
      skippedSnapshots: snapshot?.skipped ?? 0,
      replayedCommands: replayed,
      ms: performance.now() - started,
    };
  }

  /**
   * The newest stored snapshot that restores, with its core; undefined if none is stored. One that
   * does not restore (its text or its state is damaged) is logged and the one before it is tried,
   * as long as the journal still holds every entry after that one (the loop trims the journal only
   * up to the snapshot before the newest, so one snapshot back is always covered). Throws if
   * snapshots are stored but none can be used: starting from an empty state would lose them.
   */
  private async restorableSnapshot(): Promise<
    (StoredSnapshot & { core: ExchangeCore; skipped: number }) | undefined
  > {
    const positions = await this.snapshots.positions();
    if (positions.length === 0) return undefined;
    const first = (await this.redis.range(this.keys.commands, '0-0', 1))[0]?.id;
    for (let i = 0; i < positions.length; i++) {
      const p = positions[i];
      // The journal keeps the entry a trim names, so it covers p if it starts at or before it.
      if (i > 0 && (first === undefined || compareStreamIds(first, p.streamId) > 0)) break;
      try {
        const stored = await this.snapshots.load(p);
        return { ...stored, core: fromSnapshot(stored.state), skipped: i };
      } catch (err) {
        this.log.error(
          { err, commandSeq: p.commandSeq, streamId: p.streamId },
          'a snapshot cannot be restored; trying the one before it',
        );
      }
    }
    throw new Error(
      'no stored snapshot can be restored from with the journal that is left; see the errors above',
    );
  }

  /** Starts serving live commands; `onFatal` hears of an error that stopped the loop. */
  start(onFatal: (err: Error) => void): void {
    // Which market-data and user channels have subscribers: only those get messages.
    const refresh = () => {
      this.redis.client.pubsub('CHANNELS', this.keys.channels).then(
        (channels) => this.publisher.setListening(channels as string[]),
        () => undefined,
      );
    };
    refresh();
    this.listeners = setInterval(refresh, this.options.listenersRefreshMs ?? 250);
    this.running = this.run().catch((err: Error) => {
      this.failed = err;
      this.log.fatal({ err }, 'matching loop stopped');
      onFatal(err);
    });
  }

  /** Stops after the current batch, takes a final snapshot, and resolves. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.listeners !== null) clearInterval(this.listeners);
    await this.running;
    await this.snapshotting;
    if (this.failed === null && this.sinceSnapshot > 0) {
      this.snapshotting = this.snapshot();
      await this.snapshotting;
    }
  }

  /** An order of this user: open, or closed recently. */
  order(userId: string, orderId: number): OrderView | undefined {
    const open = this.core.order(userId, orderId);
    if (open !== undefined) return open;
    const closed = this.recentClosed.get(orderId);
    return closed?.userId === userId ? closed : undefined;
  }

  /** This user's order with that client order id: open, else the newest closed recently. */
  orderByClientId(userId: string, clientOrderId: string): OrderView | undefined {
    const open = this.core.orderByClientId(userId, clientOrderId);
    if (open !== undefined) return open;
    // The key names the user: an entry found is this user's.
    return this.recentClosedByClientId.get(`${userId} ${clientOrderId}`);
  }

  get position(): { streamId: string; commandSeq: number; eventSeq: number } {
    return {
      streamId: this.lastStreamId,
      commandSeq: this.core.lastCommandSeq,
      eventSeq: this.lastWrittenEventSeq,
    };
  }

  private async run(): Promise<void> {
    const count = this.options.readCount ?? 1000;
    const blockMs = this.options.blockMs ?? 500;
    while (!this.stopping) {
      const entries = await this.redis.pop(this.keys.commands, this.lastStreamId, count, blockMs);
      if (entries.length > 0) await this.applyEntries(entries, true);
      this.maybeSnapshot();
    }
    await this.writing;
  }

  private async applyEntries(
    entries: readonly { id: string; fields: Record<string, string> }[],
    live: boolean,
  ): Promise<number> {
    const core = this.core;
    const writer = this.eventsWriter;
    const publisher = this.publisher;
    const recentClosed = this.recentClosed;
    const recentClosedByClientId = this.recentClosedByClientId;
    // Each command's events are written, published and noted as they come, and its caller gets
    // only the reply: nothing of the events lives on to the end of the batch (what is still
    // alive when the young generation is collected is what a scavenge costs).
    writer.begin();
    const written = this.lastWrittenEventSeq;
    let firstSeq = 0;
    let lastSeq = 0;
    let applied = 0;
    for (const entry of entries) {
      const first = live ? this.journal.firstRequestOf(entry.fields.r) : -1;
      const commands = decodeCommands(entry.fields.c ?? '[]');
      const ts = streamIdTime(entry.id);
      for (let i = 0; i < commands.length; i++) {
        // The decoded command is ours: give it its seq and time in place.
        const command = commands[i] as CommandBody & { seq: number; ts: number };
        command.seq = core.lastCommandSeq + 1;
        command.ts = ts;
        const outcome = core.apply(command);
        const produced = outcome.events;
        for (const e of produced) {
          if (
            e.type === 'order' &&
            (e.kind === 'filled' || e.kind === 'cancelled' || e.kind === 'expired')
          ) {
            recentClosed.set(e.order.orderId, e.order);
            const cid = e.order.clientOrderId;
            if (cid !== null) {
              recentClosedByClientId.set(`${e.order.userId} ${cid}`, e.order);
            }
          }
          // A replay skips the events that are already in the events stream.
          if (e.seq > written) {
            writer.add(e);
            if (firstSeq === 0) firstSeq = e.seq;
            lastSeq = e.seq;
          }
        }
        // Live, every event is new (replays publish nothing).
        if (live) publisher.add(produced);
        if (first >= 0) {
          this.journal.settle(first + i, {
            events: NO_EVENTS,
            error: outcome.error,
            reply: outcome.reply,
          });
        }
        applied++;
      }
      this.lastStreamId = entry.id;
    }
    this.sinceSnapshot += applied;
    const encoded = writer.count > 0 ? writer.finish() : null;

    // One write at a time, in order, each overlapping the next read of the journal.
    await this.writing;
    const pipe = this.redis.pipeline();
    if (encoded !== null) {
      pipe.xadd(
        this.keys.events,
        '*',
        'v',
        EVENTS_FORMAT,
        'first',
        String(firstSeq),
        'last',
        String(lastSeq),
        'e',
        encoded,
      );
      this.lastWrittenEventSeq = lastSeq;
    }
    if (live) publisher.flush(pipe);
    const write = pipe.exec().then((results) => {
      for (const [err] of results ?? []) if (err) throw err;
    });
    // A failed write must stop the loop: keep the rejection for the next await of `writing`.
    write.catch(() => undefined);
    if (live) this.writing = write;
    else await write;
    return applied;
  }

  private maybeSnapshot(): void {
    if (this.snapshotting !== null || this.sinceSnapshot === 0) return;
    const due =
      this.sinceSnapshot >= this.options.snapshotEveryCommands ||
      Date.now() - this.lastSnapshotAt >= this.options.snapshotEverySeconds * 1000;
    if (!due) return;
    this.snapshotting = this.snapshot()
      .catch((err: Error) => this.log.error({ err }, 'snapshot failed; will retry'))
      .finally(() => {
        this.snapshotting = null;
      });
  }

  /**
   * Captures the state now (synchronously), then writes it out a chunk per turn while the loop
   * goes on, stores it and trims the journal.
   */
  private async snapshot(): Promise<void> {
    const { streamId, commandSeq, eventSeq } = this.position;
    const captured = captureSnapshot(this.core);
    const covered = this.sinceSnapshot;
    this.sinceSnapshot = 0;
    this.lastSnapshotAt = Date.now();
    let json = '';
    try {
      json = await snapshotText(captured);
      // The snapshot says events up to eventSeq are written: make it so before storing it.
      await this.writing;
      await this.snapshots.save(streamId, commandSeq, eventSeq, json);
    } catch (err) {
      // Stops the capture watching the core, if it was cut short.
      captured.finish();
      this.sinceSnapshot += covered;
      throw err;
    }
    // The journal keeps what the snapshot before this one needs, so that one can stand in if
    // this one ever fails to restore.
    const trimTo = this.lastSnapshotStreamId;
    this.lastSnapshotStreamId = streamId;
    if (this.options.trimJournal && trimTo !== null)
      await this.redis.trim(this.keys.commands, trimTo);
    this.log.info({ commandSeq, streamId, bytes: json.length }, 'snapshot saved');
  }
}
