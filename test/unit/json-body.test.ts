/**
 * The gateway's JSON body reader against express.json with the same settings: every request here
 * goes to an app with each, and both must answer alike (the parsed body, or the error's status
 * and type, which is what the gateway's error answers are made from).
 */
import { gzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { jsonBody } from '../../gateway/json-body';

const LIMIT = 1024;

function app(parser: express.RequestHandler) {
  const a = express();
  a.post('/x', parser, (req, res) => {
    res.json({ parsed: req.body !== undefined, body: (req.body as unknown) ?? null });
  });
  a.use(
    (err: { status?: number; type?: string }, _req: Request, res: Response, _n: NextFunction) => {
      res.status(err.status ?? 500).json({ error: err.type ?? 'none' });
    },
  );
  return a;
}

async function listen(a: express.Express): Promise<[Server, string]> {
  const server = a.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return [server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/x`];
}

interface Case {
  readonly name: string;
  readonly headers: Record<string, string>;
  readonly body: string | Buffer | (() => ReadableStream<Uint8Array>);
}

const json = { 'content-type': 'application/json' };
const CASES: Case[] = [
  { name: 'an object', headers: json, body: '{"a":1,"b":"é"}' },
  { name: 'an array after spaces', headers: json, body: ' \n\t[1,2]' },
  {
    name: 'charset utf-8, any case',
    headers: { 'content-type': 'Application/JSON; Charset="UTF-8"' },
    body: '{"a":2}',
  },
  { name: 'an empty body', headers: json, body: '' },
  { name: 'a string (strict)', headers: json, body: '"text"' },
  { name: 'only spaces', headers: json, body: '   ' },
  { name: 'cut short', headers: json, body: '{"market": "SOL_USDC",' },
  { name: 'a byte order mark', headers: json, body: '\ufeff{"a":3}' },
  {
    name: 'another charset',
    headers: { 'content-type': 'application/json; charset=latin1' },
    body: '{}',
  },
  { name: 'utf-16', headers: { 'content-type': 'application/json; charset=utf-16' }, body: '{}' },
  { name: 'not JSON', headers: { 'content-type': 'text/plain' }, body: '{"a":4}' },
  {
    name: 'a non-breaking space after the type',
    headers: { 'content-type': 'application/json\u00a0' },
    body: '{"a":5}',
  },
  {
    name: 'a non-breaking space before the charset',
    headers: { 'content-type': 'application/json; charset=\u00a0utf-8' },
    body: '{"a":6}',
  },
  {
    name: 'tabs around the charset',
    headers: { 'content-type': 'application/json\t;\tcharset=utf-8' },
    body: '{"a":7}',
  },
  { name: 'over the limit', headers: json, body: JSON.stringify({ pad: 'x'.repeat(2 * LIMIT) }) },
  { name: 'at the limit', headers: json, body: JSON.stringify({ pad: 'x'.repeat(LIMIT - 10) }) },
  {
    name: 'gzip',
    headers: { ...json, 'content-encoding': 'gzip' },
    body: gzipSync('{"zipped":true}'),
  },
  {
    name: 'chunked',
    headers: json,
    body: () =>
      new ReadableStream({
        start(c) {
          c.enqueue(new TextEncoder().encode('{"chun'));
          c.enqueue(new TextEncoder().encode('ked":1}'));
          c.close();
        },
      }),
  },
];

const named = (name: string): Case => {
  const c = CASES.find((x) => x.name === name);
  if (c === undefined) throw new Error(`no case ${name}`);
  return c;
};

describe('jsonBody', () => {
  let servers: Server[] = [];
  let ours = '';
  let theirs = '';
  /** Requests our reader handed to express.json. */
  let generalReads = 0;

  beforeAll(async () => {
    const general = express.json({ limit: LIMIT, strict: true, type: 'application/json' });
    const counted: express.RequestHandler = (req, res, next) => {
      generalReads++;
      general(req, res, next);
    };
    const [a, urlA] = await listen(app(jsonBody(LIMIT, counted)));
    const [b, urlB] = await listen(
      app(express.json({ limit: LIMIT, strict: true, type: 'application/json' })),
    );
    servers = [a, b];
    ours = urlA;
    theirs = urlB;
  });

  afterAll(async () => {
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });

  const send = async (url: string, c: Case) => {
    const body = typeof c.body === 'function' ? c.body() : c.body;
    const res = await fetch(url, {
      method: 'POST',
      headers: c.headers,
      body,
      ...(typeof c.body === 'function' ? { duplex: 'half' } : {}),
    } as RequestInit);
    return { status: res.status, answer: (await res.json()) as unknown };
  };

  it.each(CASES.map((c) => [c.name, c] as const))(
    'answers %s as express.json does',
    async (_n, c) => {
      const mine = await send(ours, c);
      expect(mine).toEqual(await send(theirs, c));
    },
  );

  it('reads the usual order body itself, and refuses bad ones with the parse error', async () => {
    expect(await send(ours, named('an object'))).toEqual({
      status: 200,
      answer: { parsed: true, body: { a: 1, b: 'é' } },
    });
    expect(await send(ours, named('cut short'))).toEqual({
      status: 400,
      answer: { error: 'entity.parse.failed' },
    });
    expect((await send(ours, named('over the limit'))).status).toBe(413);
    // The short path read the usual body; a compressed one went to express.json.
    generalReads = 0;
    await send(ours, named('an object'));
    expect(generalReads).toBe(0);
    await send(ours, named('gzip'));
    expect(generalReads).toBe(1);
  });
});
