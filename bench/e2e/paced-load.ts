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
 */
import http from 'node:http';
import type autocannon from 'autocannon';
import { percentile } from '../support/latency';
import type { RestRun } from './rest';

export async function pacedRun(
  baseUrl: string,
  requests: readonly autocannon.Request[],
  rate: number,
  seconds: number,
  maxSockets: number,
  warmupSeconds = 2,
): Promise<RestRun> {
  const { hostname, port } = new URL(baseUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  const prepared = requests.map((r) => {
    const body = r.body === undefined ? '' : String(r.body);
    return {
      method: r.method ?? 'GET',
      path: r.path ?? '/',
      body,
      headers: { ...r.headers, 'content-length': String(Buffer.byteLength(body)) },
    };
  });
  const latencies: number[] = [];
  let ok = 0;
  let errors = 0;
  const errorKinds: Record<string, number> = {};
  let issued = 0;
  let pending = 0;
  const warmup = Math.round(rate * warmupSeconds);
  const total = warmup + Math.round(rate * seconds);
  const start = performance.now();
  const intervalMs = 1000 / rate;

  await new Promise<void>((resolve) => {
    let stopped = false;
    const finished = () => {
      if (stopped && pending === 0) resolve();
    };
    const send = (i: number) => {
      const due = start + i * intervalMs;
      const r = prepared[i % prepared.length];
      pending++;
      const counted = i >= warmup;
      let answered = false;
      const done = (good: boolean, kind: string) => {
        // A time-out after the answer began can fail both the request and the response.
        if (answered) return;
        answered = true;
        if (counted) {
          latencies.push(performance.now() - due);
          if (good) ok++;
          else {
            errors++;
            errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
          }
        }
        pending--;
        finished();
      };
      const req = http.request(
        { hostname, port, method: r.method, path: r.path, headers: r.headers, agent },
        (res) => {
          const status = res.statusCode ?? 0;
          let text = '';
          if (status < 300) res.resume();
          else {
            // Keep the error code of the answer: what went wrong, not only that it did.
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => (text += chunk));
          }
          res.once('end', () => done(status < 300, errorKind(status, text)));
          res.once('error', (err) => done(false, err.message));
        },
      );
      req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
      req.once('error', (err) => done(false, (err as NodeJS.ErrnoException).code ?? err.message));
      req.end(r.body);
    };
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor((performance.now() - start) / intervalMs) + 1);
      while (issued < due) send(issued++);
      if (issued === total) {
        clearInterval(timer);
        stopped = true;
        finished();
      }
    }, 1);
  });
  agent.destroy();
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
