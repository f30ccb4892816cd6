/**
 * Engine snapshots in Postgres (table engine_snapshots, migration 0001). A snapshot is the whole
 * core state plus the journal position it covers: the last stream id and command seq applied,
 * and the last event seq written.
 */
import type { ExchangeSnapshot } from './core';
import type { PostgresManager } from '../lib/postgres-manager';

export interface StoredSnapshot {
  readonly streamId: string;
  readonly commandSeq: number;
  readonly eventSeq: number;
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

  async latest(): Promise<StoredSnapshot | undefined> {
    const { rows } = await this.db.query<{
      stream_id: string;
      command_seq: string;
      event_seq: string;
      state: string;
    }>(
      'SELECT stream_id, command_seq, event_seq, state FROM engine_snapshots ORDER BY command_seq DESC, id DESC LIMIT 1',
    );
    const row = rows[0];
    if (row === undefined) return undefined;
    return {
      streamId: row.stream_id,
      commandSeq: Number(row.command_seq),
      eventSeq: Number(row.event_seq),
      state: JSON.parse(row.state) as ExchangeSnapshot,
    };
  }
}
