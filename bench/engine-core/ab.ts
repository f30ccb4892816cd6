/**
 * A/B of two copies of the matching core in one process: the way to judge a change to the core on
 * a machine whose whole-run figures move by tens of percent between runs.
 *
 * Both cores are set up with the same pre-generated bench workload (setup, pre-fill, warm-up);
 * then the throughput block runs through both in alternating chunks (A then B, then B then A,
 * ...), each core's time summed, so that both see the machine at the same moments. The ratio
 * printed is A's time over B's: above 1, B is faster. Whichever core is loaded second tends to
 * come out a little faster, so run both orders (swap --a and --b) and combine.
 *
 * With --verify it times nothing and instead checks that both give byte-identical outcomes (the
 * JSON of every event, reply and error, and of each outcome again after the next command) and
 * equal snapshots, over the bench workloads and over seeded random commands of every kind.
 *
 * A copy of an older core, for instance:
 *   mkdir -p /tmp/old && git archive <rev> services/engine/core | tar -x -C /tmp/old
 *   ln -s "$PWD/node_modules" /tmp/old/node_modules
 *   node --expose-gc --import tsx bench/engine-core/ab.ts --a=/tmp/old/services/engine/core
 *
 * Options: --a=<core dir> (required) --b=<core dir> (default: this tree's) --sizes=1000,100000
 *          --rounds=7 --chunk=5000 --verify
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Command, ExchangeCore, Outcome } from '../../services/engine/core';
import { randomCommands } from '../../test/unit/core/random-commands';
import { collectGarbage } from './measure';
import { type Workload, generateWorkload } from './workload';

interface CoreModule {
  createDefaultCore(): ExchangeCore;
  toSnapshot(core: ExchangeCore): unknown;
}

const { values } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string', default: 'services/engine/core' },
    sizes: { type: 'string', default: '1000,100000' },
    rounds: { type: 'string', default: '7' },
    chunk: { type: 'string', default: '5000' },
    verify: { type: 'boolean', default: false },
  },
});
if (values.a === undefined) throw new Error('--a=<directory of a core> is required');

const load = async (dir: string): Promise<CoreModule> =>
  (await import(resolve(dir, 'index.ts'))) as CoreModule;
const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[xs.length >>> 1];
const bigints = (_key: string, v: unknown): unknown => (typeof v === 'bigint' ? `${v}n` : v);

function outcomeJson(out: Outcome): string {
  const error = out.error === null ? null : { code: out.error.code, message: out.error.message };
  return JSON.stringify({ events: out.events, error, reply: out.reply }, bigints);
}

function verify(a: CoreModule, b: CoreModule, commands: Command[], label: string): void {
  const ca = a.createDefaultCore();
  const cb = b.createDefaultCore();
  let previous: { out: Outcome; json: string } | null = null;
  for (let i = 0; i < commands.length; i++) {
    const ja = outcomeJson(ca.apply(commands[i]));
    const out = cb.apply(commands[i]);
    const jb = outcomeJson(out);
    if (ja !== jb) throw new Error(`${label}: command ${i} differs:\n A ${ja}\n B ${jb}`);
    // A later command must not change what an earlier one returned (reuse a caller could see).
    if (previous !== null && outcomeJson(previous.out) !== previous.json) {
      throw new Error(`${label}: the outcome of command ${i - 1} changed after command ${i}`);
    }
    previous = { out, json: jb };
  }
  const sa = JSON.stringify(a.toSnapshot(ca), bigints);
  if (sa !== JSON.stringify(b.toSnapshot(cb), bigints)) {
    throw new Error(`${label}: snapshots differ`);
  }
  console.log(`${label}: ${commands.length} commands, identical outcomes and snapshots`);
}

/** One round: fresh cores, the throughput block in alternating chunks; time of A over B. */
function round(a: CoreModule, b: CoreModule, w: Workload, chunk: number): number {
  const cores = [a.createDefaultCore(), b.createDefaultCore()];
  for (const core of cores) {
    for (const cmd of w.setup) core.apply(cmd);
    for (let i = 0; i < w.warmupEnd; i++) core.apply(w.ops[i]);
  }
  collectGarbage();
  const ns = [0, 0];
  for (let start = w.warmupEnd, k = 0; start < w.throughputEnd; start += chunk, k++) {
    const end = Math.min(start + chunk, w.throughputEnd);
    for (const which of k % 2 === 0 ? [0, 1] : [1, 0]) {
      const core = cores[which];
      const t0 = process.hrtime.bigint();
      for (let i = start; i < end; i++) core.apply(w.ops[i]);
      ns[which] += Number(process.hrtime.bigint() - t0);
    }
  }
  return ns[0] / ns[1];
}

async function main(): Promise<void> {
  const a = await load(values.a as string);
  const b = await load(values.b);
  const rounds = Number(values.rounds);
  const chunk = Number(values.chunk);
  for (const size of values.sizes.split(',').map(Number)) {
    const w = generateWorkload({
      seed: 20240601 + size,
      restingOrders: size,
      users: 1000,
      warmupOps: 100_000,
      throughputOps: 500_000,
      latencyOps: values.verify ? 200_000 : 0,
    });
    if (values.verify) {
      verify(a, b, [...w.setup, ...w.ops], `bench workload, ${size} resting`);
      continue;
    }
    const ratios: number[] = [];
    for (let r = 0; r < rounds; r++) ratios.push(round(a, b, w, chunk));
    console.log(
      `${size} resting: time of A over B, median of ${rounds} rounds ${median(ratios).toFixed(3)} ` +
        `(${Math.min(...ratios).toFixed(3)}-${Math.max(...ratios).toFixed(3)})`,
    );
  }
  if (values.verify) {
    for (const seed of [1, 2, 3, 42]) {
      const users = 20;
      let seq = 7;
      const commands: Command[] = [];
      for (let u = 0; u < users; u++) {
        commands.push({ type: 'create_user', seq: ++seq, ts: seq, apiKeyHash: `k${u}` });
      }
      for (let u = 1; u <= users; u++) {
        for (const [asset, amount] of [
          ['USDC', 10n ** 12n],
          ['SOL', 10n ** 13n],
          ['BTC', 10n ** 11n],
          ['ETH', 10n ** 21n],
        ] as const) {
          commands.push({ type: 'deposit', seq: ++seq, ts: seq, userId: String(u), asset, amount });
        }
      }
      for (const body of randomCommands(seed, 60_000, users)) {
        commands.push({ ...body, seq: ++seq, ts: 1000 + (seq >>> 3) } as Command);
      }
      verify(a, b, commands, `random commands, seed ${seed}`);
    }
  }
}

void main();
