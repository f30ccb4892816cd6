/**
 * The gateway's HTTP server: requests and responses are built on the Express app's own
 * prototypes, so Express has none to change, and Express works on them as on its own.
 */
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { expressServer } from '../../gateway/http-server';

describe('expressServer', () => {
  let server: Server;
  let base: string;
  const seen: { req: object | null; res: object | null }[] = [];
  const app = express();
  app.use(express.json());
  app.post('/echo', (req, res) => {
    res.status(201).json({
      body: req.body as unknown,
      query: req.query,
      isRequest: req instanceof http.IncomingMessage,
      isResponse: res instanceof http.ServerResponse,
      sameApp: req.app === app,
    });
  });

  beforeAll(async () => {
    server = expressServer(app);
    // Before Express: what Node built.
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
      seen.push({
        req: Object.getPrototypeOf(req) as object,
        res: Object.getPrototypeOf(res) as object,
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('builds requests and responses on the app’s prototypes', async () => {
    seen.length = 0;
    // Every change of prototype made while the request is served: Express's are no-ops.
    const changes: string[] = [];
    const setPrototypeOf = Object.setPrototypeOf;
    const spy = jest.spyOn(Object, 'setPrototypeOf').mockImplementation((o: object, p) => {
      if (Object.getPrototypeOf(o) !== p) changes.push(String(o.constructor?.name));
      return setPrototypeOf(o, p) as object;
    });
    try {
      const res = await fetch(`${base}/echo?a=1`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ x: '1.5' }),
      });
      expect(res.status).toBe(201);
      expect(await res.json()).toEqual({
        body: { x: '1.5' },
        query: { a: '1' },
        isRequest: true,
        isResponse: true,
        sameApp: true,
      });
    } finally {
      spy.mockRestore();
    }
    expect(changes).toEqual([]);
    expect(seen).toHaveLength(1);
    expect(seen[0].req).toBe(app.request);
    expect(seen[0].res).toBe(app.response);
  });

  it('answers what no route takes as Express does', async () => {
    const res = await fetch(`${base}/nowhere`);
    expect(res.status).toBe(404);
    await res.arrayBuffer();
    const bad = await fetch(`${base}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"x":',
    });
    expect(bad.status).toBe(400);
    await bad.arrayBuffer();
  });

  it('refuses at start what it could not build per request', () => {
    const other = express();
    // A read-only property that Node's constructor assigns.
    Object.defineProperty(other.request, 'complete', { get: () => false });
    expect(() => expressServer(other)).toThrow(/cannot build requests on Express's prototypes/);
  });
});
