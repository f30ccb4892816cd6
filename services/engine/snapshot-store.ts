/**
 * Engine snapshots in Postgres (table engine_snapshots, migration 0001). A snapshot is the whole
 * core state plus the journal position it covers: the last stream id and command seq applied,
 * and the last event seq written.
 */
import type { ExchangeSnapshot } from './core';
import type { PostgresManager } from '../lib/postgres-manager';

/** A stored snapshot's row and the journal position it covers. */
export interface SnapshotPosition {
  readonly id: string;
  readonly streamId: string;
  readonly commandSeq: number;
  readonly eventSeq: number;
}

export interface StoredSnapshot extends SnapshotPosition {
  readonly state: ExchangeSnapshot;
}

export class SnapshotStore {
  constructor(
    private readonly db: PostgresManager,
    /** How many snapshots to keep. */
    private readonly keep = 3,
  ) {}

  async save(
    streamId: string,
    commandSeq: number,
    eventSeq: number,
    stateJson: string,
  ): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query(
        'INSERT INTO engine_snapshots (command_seq, stream_id, event_seq, state) VALUES ($1, $2, $3, $4)',
        [commandSeq, streamId, eventSeq, stateJson],
      );
      await tx.query(
        `DELETE FROM engine_snapshots WHERE id NOT IN (SELECT id FROM engine_snapshots ORDER BY command_seq DESC, id DESC LIMIT $1)`,
        [this.keep],
      );
    });
  }

  /** Where each stored snapshot stands, newest first (`load` reads one's state). */
  async positions(): Promise<SnapshotPosition[]> {
    const { rows } = await this.db.query<{
      id: string;
      stream_id: string;
      command_seq: string;
      event_seq: string;
    }>(
      'SELECT id::text, stream_id, command_seq, event_seq FROM engine_snapshots ORDER BY command_seq DESC, id DESC',
    );
    return rows.map((r) => ({
      id: r.id,
      streamId: r.stream_id,
      commandSeq: Number(r.command_seq),
      eventSeq: Number(r.event_seq),
    }));
  }

  /** The state of one stored snapshot; throws if its text is not JSON. */
  async load(position: SnapshotPosition): Promise<StoredSnapshot> {
    const { rows } = await this.db.query<{ state: string }>(
      'SELECT state FROM engine_snapshots WHERE id = $1',
      [position.id],
    );
    if (rows[0] === undefined) throw new Error(`snapshot ${position.id} is gone`);
    return { ...position, state: JSON.parse(rows[0].state) as ExchangeSnapshot };
  }
}
