/**
 * The e2e bench's paced HTTP client: its answer-head reader, and a run against a small local
 * server (answers counted by kind, warm-up left out, latency taken from when a request was due).
 */
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import type autocannon from 'autocannon';
import { pacedRun, readHead, requestBytes } from '../../bench/e2e/paced-load';

describe('readHead', () => {
  it('waits for the whole head, then reads the status and the body length', () => {
    const answer = Buffer.from(
      'HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\ncontent-length: 12\r\n\r\n{"error":{}}',
    );
    expect(readHead(answer.subarray(0, 40))).toBeUndefined();
    expect(readHead(answer)).toEqual({
      status: 409,
      headLength: answer.length - 12,
      bodyLength: 12,
      closes: false,
    });
    const closing = Buffer.from(
      'HTTP/1.1 201 Created\r\nConnection: close\r\nContent-Length: 0\r\n\r\n',
    );
    expect(readHead(closing)).toMatchObject({ status: 201, bodyLength: 0, closes: true });
  });

  it('refuses an answer without a Content-Length', () => {
    const chunked = Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n');
    expect(() => readHead(chunked)).toThrow(/unreadable answer head/);
  });

  it('writes a request with its length and keep-alive', () => {
    const bytes = requestBytes(
      {
        method: 'POST',
        path: '/x',
        headers: { 'content-type': 'application/json' },
        body: '{"a":"é"}',
      },
      '127.0.0.1:9',
    ).toString();
    expect(bytes).toBe(
      'POST /x HTTP/1.1\r\nHost: 127.0.0.1:9\r\ncontent-type: application/json\r\n' +
        'Content-Length: 10\r\nConnection: keep-alive\r\n\r\n{"a":"é"}',
    );
  });
});

describe('pacedRun', () => {
  let server: http.Server;
  let url: string;
  let seen = 0;
  let delayMs = 0;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        seen++;
        const answer = () => {
          const refused = req.url === '/refused';
          // Answered with Connection: close: the client must not send on it again.
          if (req.url === '/close') res.setHeader('connection', 'close');
          const text = JSON.stringify(
            refused ? { error: { code: 'INSUFFICIENT_BALANCE', message: body } } : { echo: body },
          );
          // With a length, as the gateway answers (the client refuses chunked answers).
          res.writeHead(refused ? 409 : 201, {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(text),
          });
          res.end(text);
        };
        if (delayMs > 0) setTimeout(answer, delayMs);
        else answer();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('counts every answer after the warm-up by kind', async () => {
    seen = 0;
    delayMs = 0;
    const requests: autocannon.Request[] = [
      { method: 'POST', path: '/ok', body: '{"n":1}' },
      { method: 'POST', path: '/refused', body: '{"n":2}' },
      { method: 'POST', path: '/ok', body: '{"n":3}' },
      { method: 'POST', path: '/ok', body: '{"n":4}' },
    ];
    const run = await pacedRun(url, requests, 400, 0.5, 8, 0.25);
    // 100 warm-up requests and 200 counted ones, a quarter of them refused.
    expect(seen).toBe(300);
    expect(run.errors).toBe(50);
    expect(run.errorKinds).toEqual({ '409 INSUFFICIENT_BALANCE': 50 });
    expect(run.ordersPerSec).toBe(300);
    expect(run.p50Ms).toBeLessThan(100);
  });

  it('counts the wait for a free connection in the latency (open loop)', async () => {
    delayMs = 20;
    // One connection at 100/s against answers that take 20 ms: the queue grows all run long.
    const run = await pacedRun(
      url,
      [{ method: 'POST', path: '/ok', body: '{}' }],
      100,
      0.5,
      1,
      0.1,
    );
    delayMs = 0;
    expect(run.errors).toBe(0);
    expect(run.ordersPerSec).toBe(100);
    expect(run.p99Ms).toBeGreaterThan(300);
  });

  it('does not reuse a connection the server closes after its answer', async () => {
    delayMs = 0;
    const run = await pacedRun(
      url,
      [{ method: 'POST', path: '/close', body: '{}' }],
      200,
      0.5,
      4,
      0,
    );
    expect(run.errors).toBe(0);
    expect(run.ordersPerSec).toBe(200);
  });

  it('drops a connection that answers what was not asked, and still ends', async () => {
    // Two answers to every request: the second arrives with nothing in flight.
    let connections = 0;
    const chatty = net.createServer((socket) => {
      connections++;
      socket.on('data', () =>
        socket.write(
          'HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}' +
            'HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}',
        ),
      );
    });
    const run = await getsPaced(chatty, 0.5);
    // Every request answered once, each on a connection of its own (then dropped).
    expect(run.ordersPerSec).toBe(200);
    expect(run.errors).toBe(0);
    expect(connections).toBe(100);
  });

  it('counts a connection the server cuts as an error of that kind', async () => {
    // A server that closes every connection as soon as a request arrives.
    const cutter = net.createServer((socket) => socket.once('data', () => socket.destroy()));
    const run = await getsPaced(cutter, 0.1);
    expect(run.ordersPerSec).toBe(0);
    expect(run.errors).toBe(20);
    expect(Object.keys(run.errorKinds ?? {})).toEqual(['closed']);
  });
});

/** `GET /` at 200/s for `seconds` (no warm-up, 2 sockets) against a raw TCP server; closes it. */
async function getsPaced(server: net.Server, seconds: number) {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    return await pacedRun(
      `http://127.0.0.1:${port}`,
      [{ method: 'GET', path: '/' }],
      200,
      seconds,
      2,
      0,
    );
  } finally {
    server.close();
  }
}
