/**
 * The migration runner: applies the numbered plain-SQL files of db/migrations/ in order, each in
 * its own transaction, under a Postgres advisory lock so that several services starting at once
 * apply each file exactly once. Applied versions are recorded in `schema_migrations`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { PostgresManager } from '../services/lib/postgres-manager';

const MIGRATIONS_DIR = path.join(__dirname, 'migrations');
const FILE_RE = /^(\d{4})_[a-z0-9_]+\.sql$/;
/** Postgres 13 or newer (gen_random_uuid, MINID-era features we rely on in SQL). */
const MIN_SERVER_VERSION = 130000;
const LOCK_KEY = 7_300_417; // any constant shared by every runner

export class UnsupportedServerVersion extends Error {
  override readonly name = 'UnsupportedServerVersion';
}

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export function listMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => FILE_RE.test(f))
    .sort()
    .map((file) => ({
      version: Number(FILE_RE.exec(file)?.[1]),
      name: file,
      sql: readFileSync(path.join(dir, file), 'utf8'),
    }));
}

/** Applies what is missing; returns the names of the files it applied. */
export async function migrate(
  db: PostgresManager,
  migrations = listMigrations(),
): Promise<string[]> {
  const client = await db.pool.connect();
  try {
    const version = Number(
      (await client.query('SHOW server_version_num')).rows[0].server_version_num,
    );
    if (version < MIN_SERVER_VERSION) {
      throw new UnsupportedServerVersion(`Postgres ${version} is too old; 13 or newer is needed`);
    }
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      const done = new Set<number>(
        (await client.query('SELECT version FROM schema_migrations')).rows.map((r) =>
          Number(r.version),
        ),
      );
      const applied: string[] = [];
      for (const m of migrations) {
        if (done.has(m.version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(m.sql);
          await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
            m.version,
            m.name,
          ]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw new Error(`migration ${m.name} failed: ${(err as Error).message}`);
        }
        applied.push(m.name);
      }
      return applied;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]);
    }
  } finally {
    client.release();
  }
}
