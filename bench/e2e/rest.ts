/**
 * REST order entry with autocannon: two users funded through the API trade against each other
 * at one price (every connection cycles buy A, sell B, buy B, sell A), so orders match and the
 * book stays small. The same requests go to the bare Express app, the ceiling.
 */
import autocannon from 'autocannon';

export interface RestRun {
  /** 2xx answers per second of the run. */
  readonly ordersPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Non-2xx answers plus connection errors (autocannon's errors include its timeouts). */
  readonly errors: number;
  /** Paced runs: the errors by status and error code (or connection error code). */
  readonly errorKinds?: Record<string, number>;
  readonly seconds: number;
}

export interface Trader {
  readonly userId: string;
  readonly apiKey: string;
}

async function post(url: string, body: unknown, apiKey?: string): Promise<unknown> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (apiKey !== undefined) headers.authorization = `Bearer ${apiKey}`;
  const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
  const answer: unknown = await res.json();
  if (res.status >= 300)
    throw new Error(`${url} answered ${res.status}: ${JSON.stringify(answer)}`);
  return answer;
}

/** A user created and funded through the gateway, as a client would. */
export async function newTrader(
  gatewayUrl: string,
  funds: Record<string, string>,
): Promise<Trader> {
  const { userId, apiKey } = (await post(`${gatewayUrl}/api/v1/user/new`, {})) as Trader;
  for (const [asset, amount] of Object.entries(funds)) {
    await post(`${gatewayUrl}/api/v1/user/deposit`, { asset, amount }, apiKey);
  }
  return { userId, apiKey };
}

export function orderRequests(a: Trader, b: Trader): autocannon.Request[] {
  const order = (t: Trader, side: 'buy' | 'sell'): autocannon.Request => ({
    method: 'POST',
    path: '/api/v1/order',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${t.apiKey}` },
    body: JSON.stringify({
      market: 'SOL_USDC',
      side,
      type: 'limit',
      price: '100',
      quantity: '0.1',
    }),
  });
  return [order(a, 'buy'), order(b, 'sell'), order(b, 'buy'), order(a, 'sell')];
}

export interface RestLoad {
  readonly connections: number;
  readonly seconds: number;
  /** Requests per second over all connections; omitted: as fast as answers come back. */
  readonly overallRate?: number;
}

/** Places orders at `baseUrl` (the gateway or the ceiling) for `load.seconds`. */
export async function restRun(
  baseUrl: string,
  traders: readonly [Trader, Trader],
  load: RestLoad,
): Promise<RestRun> {
  const result = await autocannon({
    url: baseUrl,
    connections: load.connections,
    duration: load.seconds,
    requests: orderRequests(traders[0], traders[1]),
    ...(load.overallRate === undefined ? {} : { overallRate: load.overallRate }),
  });
  return {
    ordersPerSec: Math.round(result['2xx'] / result.duration),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.non2xx + result.errors,
    seconds: result.duration,
  };
}
