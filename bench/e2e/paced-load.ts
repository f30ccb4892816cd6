/**
 * A fixed arrival rate, open loop: request i is due at start + i/rate whatever happened to the
 * earlier ones, on a pool of keep-alive connections, and its latency runs from when it was due
 * (so time spent waiting for a free connection counts, as it would for a real client).
 *
 * The first `warmupSeconds` run at the same rate and are not counted: a fresh run starts with a
 * transient (connections opening, code not yet optimized on both sides) that took ~1.5 s to
 * drain at 2,600/s even against the bare Express route, which made the p99 of a 5-10 s run
 * about its start, not its steady state (wrk2 leaves out its first 10 s for the same reason).
 *
 * autocannon's overallRate is not this: each connection sends back to back until it has used
 * its share of the second, then waits for the next second, so every second starts with a
 * saturating burst and its p99 is close to the saturated p99 at any rate.
 *
 * The client is HTTP/1.1 over plain sockets with each request's bytes built once, and reads of
 * each answer only its status, its length and (for errors) its body: the bench process shares
 * the two cores with what it measures, and Node's own HTTP client took 2.5x autocannon's CPU
 * per request (0.38 of a core at 7,500 requests/s, against autocannon's 0.15 at 8,400/s).
 * It expects every answer to carry a Content-Length (the gateway and the bare route do).
 */
import net from 'node:net';
import type autocannon from 'autocannon';
import { percentile } from '../support/latency';
import type { RestRun } from './rest';

const CRLF2 = Buffer.from('\r\n\r\n');
const TIMEOUT_MS = 10_000;

/** One request on the wire: when it was due, whether it counts, and its answer so far. */
interface InFlight {
  readonly due: number;
  readonly counted: boolean;
}

/** What is known about an answer once its head has arrived. */
export interface AnswerHead {
  readonly status: number;
  /** Bytes of the head, the blank line included. */
  readonly headLength: number;
  readonly bodyLength: number;
  /** The server said `Connection: close`. */
  readonly closes: boolean;
}

/**
 * The status and body length of the answer whose head starts `buf`, or undefined while the head
 * is incomplete. Throws on an answer this client cannot read (no Content-Length).
 */
export function readHead(buf: Buffer): AnswerHead | undefined {
  const end = buf.indexOf(CRLF2);
  if (end < 0) return undefined;
  const head = buf.toString('latin1', 0, end);
  const status = Number(head.slice(9, 12));
  const length = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head);
  if (!head.startsWith('HTTP/1.1 ') || !(status >= 100) || length === null) {
    throw new Error(`unreadable answer head: ${JSON.stringify(head.slice(0, 200))}`);
  }
  const closes = /\r\nconnection:[ \t]*close/i.test(head);
  return { status, headLength: end + 4, bodyLength: Number(length[1]), closes };
}

/** The bytes of one request, keep-alive, with its Content-Length. */
export function requestBytes(r: autocannon.Request, host: string): Buffer {
  const body = r.body === undefined ? '' : String(r.body);
  let head = `${r.method ?? 'GET'} ${r.path ?? '/'} HTTP/1.1\r\nHost: ${host}\r\n`;
  for (const [k, v] of Object.entries(r.headers ?? {})) head += `${k}: ${v}\r\n`;
  head += `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: keep-alive\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(body)]);
}

export async function pacedRun(
  baseUrl: string,
  requests: readonly autocannon.Request[],
  rate: number,
  seconds: number,
  maxSockets: number,
  warmupSeconds = 2,
): Promise<RestRun> {
  const { hostname, port, host } = new URL(baseUrl);
  const prepared = requests.map((r) => requestBytes(r, host));
  const latencies: number[] = [];
  let ok = 0;
  let errors = 0;
  const errorKinds: Record<string, number> = {};
  const warmup = Math.round(rate * warmupSeconds);
  const total = warmup + Math.round(rate * seconds);
  const start = performance.now();
  const intervalMs = 1000 / rate;

  /** Requests answered or failed, warm-up included: the run ends when all are. */
  let answered = 0;
  const record = (f: InFlight, good: boolean, kind: string) => {
    answered++;
    if (!f.counted) return;
    latencies.push(performance.now() - f.due);
    if (good) ok++;
    else {
      errors++;
      errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
    }
  };

  await new Promise<void>((resolve) => {
    const idle: Connection[] = [];
    const open = new Set<Connection>();
    /** Requests due so far; those from `sent` on wait for a free connection. */
    let issued = 0;
    let sent = 0;

    class Connection {
      readonly socket: net.Socket;
      current: InFlight | null = null;
      sentAt = 0;
      private buf: Buffer = Buffer.alloc(0);
      private head: AnswerHead | undefined;

      constructor() {
        this.socket = net.connect({ host: hostname, port: Number(port) || 80 });
        this.socket.setNoDelay(true);
        this.socket.on('data', (chunk: Buffer) => this.read(chunk));
        this.socket.once('error', (err: NodeJS.ErrnoException) =>
          this.fail(err.code ?? err.message),
        );
        this.socket.once('close', () => this.fail('closed'));
      }

      send(i: number): void {
        this.current = { due: start + i * intervalMs, counted: i >= warmup };
        this.sentAt = performance.now();
        this.socket.write(prepared[i % prepared.length]);
      }

      /** Takes every complete answer in what has arrived; back to the pool once answered. */
      private read(chunk: Buffer): void {
        this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
        let answeredHere = false;
        for (;;) {
          if (this.head === undefined) {
            try {
              this.head = readHead(this.buf);
            } catch (err) {
              this.fail((err as Error).message);
              return;
            }
            if (this.head === undefined) break;
          }
          const { status, headLength, bodyLength, closes } = this.head;
          if (this.buf.length < headLength + bodyLength) break;
          const body =
            status < 300 ? '' : this.buf.toString('utf8', headLength, headLength + bodyLength);
          this.buf = this.buf.subarray(headLength + bodyLength);
          this.head = undefined;
          const f = this.current;
          if (f === null) {
            // An answer nobody asked for: this connection can no longer pair answers with
            // requests. Whatever it was asked has been answered; it leaves the pool.
            this.fail('unrequested answer');
            return;
          }
          this.current = null;
          answeredHere = true;
          record(f, status < 300, errorKind(status, body));
          if (closes) {
            // The server closes this connection after its answer: nothing more is sent on it.
            this.fail('closed');
            return;
          }
        }
        if (answeredHere) {
          idle.push(this);
          pump();
        }
      }

      /** The socket is gone or unusable: its request (if any) failed; it leaves the pool. */
      fail(kind: string): void {
        if (!open.delete(this)) return;
        const at = idle.indexOf(this);
        if (at >= 0) idle.splice(at, 1);
        this.socket.destroy();
        const f = this.current;
        this.current = null;
        if (f !== null) record(f, false, kind);
        pump();
      }
    }

    const pump = () => {
      while (sent < issued) {
        let c = idle.pop();
        if (c === undefined) {
          if (open.size >= maxSockets) break;
          c = new Connection();
          open.add(c);
        }
        c.send(sent++);
      }
      if (issued === total && answered === total) {
        clearInterval(timer);
        for (const c of [...open]) {
          open.delete(c);
          c.socket.destroy();
        }
        resolve();
      }
    };

    const timer = setInterval(() => {
      const now = performance.now();
      issued = Math.max(issued, Math.min(total, Math.floor((now - start) / intervalMs) + 1));
      for (const c of open) {
        if (c.current !== null && now - c.sentAt > TIMEOUT_MS) c.fail('timeout');
      }
      pump();
    }, 1);
  });

  latencies.sort((a, b) => a - b);
  return {
    ordersPerSec: Math.round(ok / seconds),
    p50Ms: +percentile(latencies, 50).toFixed(1),
    p99Ms: +percentile(latencies, 99).toFixed(1),
    errors,
    ...(errors > 0 ? { errorKinds } : {}),
    seconds,
  };
}

/** `409 INSUFFICIENT_BALANCE` from an error answer's status and body (`{"error":{"code"}}`). */
function errorKind(status: number, body: string): string {
  const code = /"code":"([A-Z_]+)"/.exec(body)?.[1];
  return code === undefined ? String(status) : `${status} ${code}`;
}
