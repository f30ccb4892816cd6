/**
 * A/B of two gateways on one stack: the way to judge a change to the gateway's cost per request
 * on a machine whose whole-run figures move by tens of percent. Both gateways talk to the same
 * engine, History, Redis and Postgres; the paced REST load (the e2e bench's) goes to one, then
 * the other, alternating which goes first, and each step reports the CPU the gateway used per
 * answered request (from /proc) with its latencies. Gateway B runs from another checkout (a
 * worktree of an older commit, say) or with other node flags. CPU per request is per request
 * sent, the uncounted warm-up second of each step included.
 *
 *   git worktree add -f /tmp/base <rev> && ln -s "$PWD/node_modules" /tmp/base/node_modules \
 *     && cp -r gen /tmp/base/
 *   node --import tsx bench/e2e/gateway-ab.ts --b-dir=/tmp/base [--rate=6000] [--rounds=4]
 *   node --import tsx bench/e2e/gateway-ab.ts --b-args="--max-semi-space-size=64"
 *
 * Options: --rate (requests/s, default 6000) --seconds (per step, default 6) --connections
 * (default 256) --rounds (default 4) --a-args / --b-args (node flags) --b-dir (checkout of B).
 */
import { parseArgs } from 'node:util';
import { processCpuSeconds } from '../support/cpu-usage';
import { freePort, startServiceProcess, stopServiceProcess } from '../support/service-process';
import { pacedRun } from './paced-load';
import { newTrader, orderRequests } from './rest';
import { gatewayEnv, startE2eStack } from './stack';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '6000' },
    seconds: { type: 'string', default: '6' },
    connections: { type: 'string', default: '256' },
    rounds: { type: 'string', default: '4' },
    'a-args': { type: 'string', default: '' },
    'b-args': { type: 'string', default: '' },
    'b-dir': { type: 'string' },
  },
});
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const rounds = Number(values.rounds);
const flags = (s: string) => s.split(' ').filter((a) => a !== '');
/** The median (the upper of the middle two for an even count). */
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >>> 1];
const WARMUP_SECONDS = 1;

async function main(): Promise<void> {
  const stack = await startE2eStack();
  const gateways: { name: string; url: string; pid: number; stop(): Promise<unknown> }[] = [];
  try {
    for (const [name, args, dir] of [
      ['A', values['a-args'], undefined],
      ['B', values['b-args'], values['b-dir']],
    ] as const) {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const p = await startServiceProcess({
        name: `gateway ${name}`,
        script: 'gateway/main.ts',
        cwd: dir,
        env: gatewayEnv(stack.env, stack.engineAddr, stack.historyAddr, port),
        nodeArgs: flags(args),
        readyProbe: async () => (await fetch(`${url}/api/v1/health`)).status === 200,
        readyPort: port,
      });
      gateways.push({ name, url, pid: p.child.pid ?? 0, stop: () => stopServiceProcess(p.child) });
    }
    const funds = { USDC: '1000000000', SOL: '10000000' };
    const traders = [
      await newTrader(gateways[0].url, funds),
      await newTrader(gateways[0].url, funds),
    ] as const;
    const requests = orderRequests(traders[0], traders[1]);
    // Warm both up (JIT, connections) before anything counts.
    for (const g of gateways) await pacedRun(g.url, requests, rate / 2, 2, connections, 0);

    const perRequest: Record<string, number[]> = { A: [], B: [] };
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? gateways : [...gateways].reverse();
      for (const g of order) {
        const before = processCpuSeconds(g.pid);
        const run = await pacedRun(g.url, requests, rate, seconds, connections, WARMUP_SECONDS);
        const after = processCpuSeconds(g.pid);
        if (before === undefined || after === undefined) {
          throw new Error('gateway CPU time is read from /proc, which this system does not have');
        }
        // Per request sent in the step, its uncounted warm-up second included (the CPU time is).
        const us = ((after - before) * 1e6) / (rate * (seconds + WARMUP_SECONDS));
        perRequest[g.name].push(us);
        console.log(
          `round ${r + 1} ${g.name}: ${run.ordersPerSec}/s p50 ${run.p50Ms} ms p99 ${run.p99Ms} ms ` +
            `errors ${run.errors}; gateway ${us.toFixed(1)} µs CPU per request`,
        );
      }
    }
    const a = median(perRequest.A);
    const b = median(perRequest.B);
    console.log(
      JSON.stringify({
        bench: 'gateway-ab',
        rate,
        aUsPerRequest: +a.toFixed(1),
        bUsPerRequest: +b.toFixed(1),
        bOverA: +(b / a).toFixed(3),
      }),
    );
  } finally {
    for (const g of gateways) await g.stop();
    await stack.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
