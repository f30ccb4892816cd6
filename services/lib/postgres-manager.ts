/**
 * PostgresManager: the pool every service uses for Postgres, set to the configured schema.
 * Connecting fails fast with {@link PostgresUnavailable}; a missing database is created (so a
 * fresh machine needs no manual step), a missing schema too.
 */
import pg from 'pg';

export class PostgresUnavailable extends Error {
  override readonly name = 'PostgresUnavailable';
}

export interface PostgresOptions {
  readonly url: string;
  readonly schema: string;
  readonly max?: number;
  readonly applicationName?: string;
}

export class PostgresManager {
  private constructor(
    readonly pool: pg.Pool,
    readonly schema: string,
  ) {}

  static async connect(options: PostgresOptions): Promise<PostgresManager> {
    await ensureDatabase(options.url);
    const bootstrap = new pg.Client({
      connectionString: options.url,
      connectionTimeoutMillis: 5000,
    });
    try {
      await bootstrap.connect();
      await bootstrap
        .query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(options.schema)}`)
        .catch((err: unknown) => {
          // Two services creating the schema at the same moment: one wins, both go on.
          if ((err as { code?: string }).code !== '23505') throw err;
        });
    } catch (err) {
      throw new PostgresUnavailable(
        `cannot reach Postgres at ${redact(options.url)}: ${(err as Error).message}`,
      );
    } finally {
      await bootstrap.end().catch(() => undefined);
    }
    const pool = new pg.Pool({
      connectionString: options.url,
      max: options.max ?? 10,
      connectionTimeoutMillis: 5000,
      application_name: options.applicationName ?? 'exchange',
      options: `-c search_path=${options.schema}`,
    });
    pool.on('error', () => undefined); // an idle client's error surfaces on its next query
    return new PostgresManager(pool, options.schema);
  }

  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    return this.pool.query<R>(text, values);
  }

  /** Runs `work` in one transaction: committed if it resolves, rolled back if it throws. */
  async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async ping(): Promise<boolean> {
    return (await this.pool.query('SELECT 1 AS ok')).rows[0]?.ok === 1;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Creates the database named in `url` if the server says it does not exist. */
async function ensureDatabase(url: string): Promise<void> {
  const probe = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await probe.connect();
    return;
  } catch (err) {
    if ((err as { code?: string }).code !== '3D000') {
      throw new PostgresUnavailable(
        `cannot reach Postgres at ${redact(url)}: ${(err as Error).message}`,
      );
    }
  } finally {
    await probe.end().catch(() => undefined);
  }
  const parsed = new URL(url);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  parsed.pathname = '/postgres';
  const admin = new pg.Client({
    connectionString: parsed.toString(),
    connectionTimeoutMillis: 5000,
  });
  try {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${quoteIdent(database)}`);
  } catch (err) {
    // 42P04: it exists; 23505: another service created it at the same moment.
    const code = (err as { code?: string }).code;
    if (code !== '42P04' && code !== '23505') {
      throw new PostgresUnavailable(
        `cannot create database ${database}: ${(err as Error).message}`,
      );
    }
  } finally {
    await admin.end().catch(() => undefined);
  }
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}
