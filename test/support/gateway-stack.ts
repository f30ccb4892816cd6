/**
 * The whole stack in-process for gateway tests: engine, history and gateway on port 0, in their
 * own Redis prefix and Postgres schema, plus a tiny HTTP client speaking the REST API.
 */
import { startEngine, type EngineHandle } from '../../services/engine/engine-server';
import { startHistory, type HistoryHandle } from '../../services/history/history-server';
import { gatewayConfigSchema, historyConfigSchema } from '../../services/lib/config';
import { createLogger } from '../../services/lib/logger';
import { startGateway, type GatewayHandle } from '../../gateway/server';
import { engineConfig, isolate, type Isolation } from './stack';

const log = createLogger('gateway-test', 'silent');

// Tests read answers loosely and check them with expect(); a typed body would only add casts.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface Answer<T = any> {
  readonly status: number;
  readonly body: T;
  readonly headers: Headers;
}

export interface RequestOptions {
  readonly key?: string;
  readonly body?: unknown;
  /** Sent as-is instead of JSON.stringify(body). */
  readonly raw?: string;
  readonly headers?: Record<string, string>;
}

export interface GatewayStack {
  readonly iso: Isolation;
  readonly engine: EngineHandle;
  readonly history: HistoryHandle;
  readonly gateway: GatewayHandle;
  readonly url: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  call<T = any>(method: string, path: string, options?: RequestOptions): Promise<Answer<T>>;
  /** A new user with an API key, funded with these deposits. */
  user(funds?: Record<string, string>): Promise<{ userId: string; key: string }>;
  stop(): Promise<void>;
}

export async function startGatewayStack(
  name: string,
  gatewayEnv: Record<string, string> = {},
): Promise<GatewayStack> {
  const iso = isolate(name);
  const engine = await startEngine(engineConfig(iso), log);
  const history = await startHistory(
    historyConfigSchema.parse({ ...iso.env, HISTORY_HOST: '127.0.0.1', HISTORY_PORT: '0' }),
    log,
  );
  const gateway = await startGateway(
    gatewayConfigSchema.parse({
      ...iso.env,
      HOST: '127.0.0.1',
      PORT: '0',
      ENGINE_ADDR: `127.0.0.1:${engine.port}`,
      HISTORY_ADDR: `127.0.0.1:${history.port}`,
      ...gatewayEnv,
    }),
    log,
  );
  const url = `http://127.0.0.1:${gateway.port}`;

  async function call<T>(method: string, path: string, o: RequestOptions = {}): Promise<Answer<T>> {
    const headers: Record<string, string> = { ...o.headers };
    if (o.key !== undefined) headers.authorization = `Bearer ${o.key}`;
    let body: string | undefined;
    if (o.raw !== undefined) body = o.raw;
    else if (o.body !== undefined) body = JSON.stringify(o.body);
    if (body !== undefined && headers['content-type'] === undefined) {
      headers['content-type'] = 'application/json';
    }
    const res = await fetch(`${url}${path}`, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('json')) parsed = JSON.parse(text);
    return { status: res.status, body: parsed as T, headers: res.headers };
  }

  return {
    iso,
    engine,
    history,
    gateway,
    url,
    call,
    async user(funds = {}) {
      const created = await call<{ userId: string; apiKey: string }>('POST', '/api/v1/user/new');
      if (created.status !== 201) throw new Error(`user/new answered ${created.status}`);
      const key = created.body.apiKey;
      for (const [asset, amount] of Object.entries(funds)) {
        const res = await call('POST', '/api/v1/user/deposit', { key, body: { asset, amount } });
        if (res.status !== 200) throw new Error(`deposit answered ${res.status}`);
      }
      return { userId: created.body.userId, key };
    },
    async stop() {
      await gateway.stop();
      await history.stop();
      await engine.stop();
      await iso.cleanup();
    },
  };
}
