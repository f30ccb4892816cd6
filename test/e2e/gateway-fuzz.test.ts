/**
 * Fuzzing the REST API: at least 2,000 random malformed requests per run (seeded, so a failure
 * can be replayed with its seed). Every answer must be a 4xx in the error shape, never a 5xx,
 * and the caller's balances and orders must be exactly as before.
 */
import { prng, type Random } from '../support/prng';
import { startGatewayStack, type GatewayStack } from '../support/gateway-stack';

const REQUESTS = 2_400;
const CONCURRENCY = 24;
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);

let s: GatewayStack;
let key = '';
let orderId = '';

beforeAll(async () => {
  s = await startGatewayStack('fuzz', {
    RATE_LIMIT_PER_SEC: '1000000',
    RATE_LIMIT_NEW_USER_PER_MIN: '1000000',
  });
  ({ key } = await s.user({ USDC: '1000', SOL: '10' }));
  const placed = await s.call('POST', '/api/v1/order', {
    key,
    body: { market: 'SOL_USDC', side: 'buy', type: 'limit', price: '10', quantity: '1' },
  });
  orderId = placed.body.order.orderId;
});

afterAll(async () => {
  await s?.stop();
});

const BAD_DECIMALS: unknown[] = [
  '-1',
  '0',
  '0.00',
  '1e3',
  '1E-2',
  'NaN',
  'Infinity',
  '-Infinity',
  '',
  ' 1',
  '1 ',
  '1.',
  '.5',
  '0x10',
  '1,5',
  '+1',
  '１',
  '1'.repeat(80),
  1,
  0.1,
  null,
  true,
  [],
  {},
];
const BAD_WORDS: unknown[] = ['', 'BUY', 'Sell', 'xyz', 1, null, false, [], {}, 'limit '.repeat(3)];
const BAD_MARKETS: unknown[] = [
  '',
  'sol_usdc',
  'SOL-USDC',
  'SOL',
  'A'.repeat(40),
  5,
  null,
  ['SOL_USDC'],
];
const BAD_IDS: unknown[] = ['', '-1', 'abc', '1.5', '1e3', ' 1', '9'.repeat(30), null, 7, {}];
const BAD_ASSETS: unknown[] = ['', 'usdc', 'US DC', 'A'.repeat(40), 1, null];

interface Template {
  method: string;
  path: string;
  /** Valid values; a fuzzed request breaks at least one rule. */
  fields: Record<string, unknown>;
  bad: Record<string, unknown[]>;
  required: string[];
  where: 'body' | 'query';
  /** Private route: a bad key alone makes the request invalid. */
  auth: boolean;
}

function templates(): Template[] {
  return [
    {
      method: 'POST',
      path: '/api/v1/order',
      where: 'body',
      auth: true,
      fields: { market: 'SOL_USDC', side: 'buy', type: 'limit', price: '10', quantity: '1' },
      bad: {
        market: BAD_MARKETS,
        side: BAD_WORDS,
        type: BAD_WORDS,
        price: BAD_DECIMALS,
        quantity: BAD_DECIMALS,
        quoteQuantity: BAD_DECIMALS,
        timeInForce: BAD_WORDS,
        postOnly: ['true', 1, null, 'yes'],
        clientOrderId: ['', 'a b', 'x'.repeat(65), 1, null],
        selfTradePrevention: BAD_WORDS,
      },
      required: ['market', 'side', 'type'],
    },
    {
      method: 'POST',
      path: '/api/v1/user/deposit',
      where: 'body',
      auth: true,
      fields: { asset: 'USDC', amount: '1' },
      bad: { asset: BAD_ASSETS, amount: BAD_DECIMALS },
      required: ['asset', 'amount'],
    },
    {
      method: 'POST',
      path: '/api/v1/user/withdraw',
      where: 'body',
      auth: true,
      fields: { asset: 'USDC', amount: '1' },
      bad: { asset: BAD_ASSETS, amount: BAD_DECIMALS },
      required: ['asset', 'amount'],
    },
    {
      method: 'PATCH',
      path: '/api/v1/order',
      where: 'body',
      auth: true,
      fields: { orderId: 'ORDER', quantity: '0.5' },
      bad: { orderId: BAD_IDS, quantity: BAD_DECIMALS },
      required: ['orderId', 'quantity'],
    },
    {
      method: 'DELETE',
      path: '/api/v1/order',
      where: 'query',
      auth: true,
      fields: { orderId: 'ORDER' },
      bad: { orderId: BAD_IDS, clientOrderId: ['', 'a b', 'x'.repeat(65)] },
      required: ['orderId'],
    },
    {
      method: 'GET',
      path: '/api/v1/depth',
      where: 'query',
      auth: false,
      fields: { market: 'SOL_USDC', limit: '10' },
      bad: { market: BAD_MARKETS, limit: ['0', '-1', '1e2', '10.5', 'x', '100000'] },
      required: ['market'],
    },
    {
      method: 'GET',
      path: '/api/v1/klines',
      where: 'query',
      auth: false,
      fields: { market: 'SOL_USDC', interval: '1m' },
      bad: {
        market: BAD_MARKETS,
        interval: ['', '1', '7m', '1y', '1m '],
        startTime: ['-1', 'x', '1.5', '1e9'],
        endTime: ['-1', 'x', '1.5'],
        limit: ['0', '5000', 'x'],
      },
      required: ['market', 'interval'],
    },
    {
      method: 'GET',
      path: '/api/v1/user/order',
      where: 'query',
      auth: true,
      fields: {},
      bad: { market: BAD_MARKETS, limit: ['0', '-1', 'x', '1e1'], cursor: ['x'.repeat(300)] },
      required: [],
    },
  ];
}

function pick<T>(rnd: Random, list: readonly T[]): T {
  return list[Math.floor(rnd() * list.length)];
}

function queryString(fields: Record<string, unknown>): string {
  const parts = Object.entries(fields).map(([k, v]) => {
    const text = typeof v === 'string' ? v : JSON.stringify(v);
    return `${encodeURIComponent(k)}=${encodeURIComponent(text)}`;
  });
  return parts.length === 0 ? '' : `?${parts.join('&')}`;
}

interface Fuzzed {
  method: string;
  path: string;
  raw?: string;
  key?: string;
  what: string;
}

/** One request that breaks at least one rule (so none of them may succeed). */
function fuzzed(rnd: Random): Fuzzed {
  const t = pick(rnd, templates());
  const fields: Record<string, unknown> = JSON.parse(
    JSON.stringify(t.fields).replaceAll('ORDER', orderId),
  );
  const kind = rnd();
  let what: string;
  let rawBody: string | undefined;
  let auth: string | undefined = key;
  if (kind < 0.55) {
    const names = Object.keys(t.bad);
    const n = 1 + Math.floor(rnd() * 2);
    for (let i = 0; i < n; i++) {
      const name = pick(rnd, names);
      fields[name] = pick(rnd, t.bad[name]);
    }
    // a query value that would be a valid string in JSON form is still invalid as text
    what = `bad values ${JSON.stringify(fields)}`;
  } else if (kind < 0.65 && t.required.length > 0) {
    const name = pick(rnd, t.required);
    Reflect.deleteProperty(fields, name);
    what = `missing ${name}`;
  } else if (kind < 0.75 || !t.auth) {
    fields[pick(rnd, ['userId', 'user_id', 'admin', '__proto__x', 'Price'])] = '1';
    what = 'unknown field';
  } else if (kind < 0.85 && t.where === 'body') {
    rawBody = pick(rnd, [
      '{"market":',
      '{',
      'nul',
      '[',
      '{"a":1}}',
      '\u0000\u0001',
      '{"price": 1e999}',
      '[]',
      '"text"',
      '123',
      'null',
    ]);
    what = `raw body ${JSON.stringify(rawBody)}`;
  } else {
    auth = pick(rnd, [undefined, '', 'x', 'ek_' + 'A'.repeat(32), 'Bearer', 'cl\u00e9']);
    what = `bad key ${JSON.stringify(auth)}`;
  }
  if (t.where === 'query') {
    if (rawBody !== undefined) rawBody = undefined;
    return { method: t.method, path: `${t.path}${queryString(fields)}`, key: auth, what };
  }
  return {
    method: t.method,
    path: t.path,
    raw: rawBody ?? JSON.stringify(fields),
    key: auth,
    what,
  };
}

it(`answers ${REQUESTS} malformed requests with 4xx errors and changes nothing (seed ${SEED})`, async () => {
  const before = await snapshot();
  const rnd = prng(SEED);
  const requests = Array.from({ length: REQUESTS }, () => fuzzed(rnd));
  const statuses = new Map<number, number>();
  const wrong: string[] = [];
  for (let i = 0; i < requests.length; i += CONCURRENCY) {
    await Promise.all(
      requests.slice(i, i + CONCURRENCY).map(async (r) => {
        const headers: Record<string, string> = {};
        if (r.key !== undefined) headers.authorization = `Bearer ${r.key}`;
        if (r.raw !== undefined) headers['content-type'] = 'application/json';
        const res = await fetch(`${s.url}${r.path}`, { method: r.method, headers, body: r.raw });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        const text = await res.text();
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
        const shaped =
          typeof body === 'object' &&
          body !== null &&
          typeof (body as { error?: { code?: unknown } }).error?.code === 'string' &&
          typeof (body as { error?: { message?: unknown } }).error?.message === 'string';
        if (res.status < 400 || res.status >= 500 || !shaped) {
          wrong.push(`${r.method} ${r.path} (${r.what}) -> ${res.status} ${text.slice(0, 200)}`);
        }
      }),
    );
  }
  expect(wrong).toEqual([]);
  const total = [...statuses.values()].reduce((a, b) => a + b, 0);
  expect(total).toBeGreaterThanOrEqual(2_000);
  expect(await snapshot()).toEqual(before);
});

async function snapshot() {
  const user = await s.call('GET', '/api/v1/user', { key });
  const open = await s.call('GET', '/api/v1/order/open', { key });
  return { balances: user.body.balances, open: open.body };
}
