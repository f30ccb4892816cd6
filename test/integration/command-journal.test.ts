/**
 * The journal's front half against the real Redis: a batch becomes entries with consecutive
 * request numbers, its caller hears once every command is settled, and every way a command can
 * fail to be applied (Redis down, not applied in time, shutting down) reaches the caller as
 * UNAVAILABLE with its code, per command.
 */
import { CommandJournal, type Result } from '../../services/engine/command-journal';
import { decodeCommands } from '../../services/engine/codec';
import type { CommandBody, Outcome } from '../../services/engine/core';
import { ServiceFailure } from '../../services/lib/grpc/status';
import { RedisManager } from '../../services/lib/redis-manager';
import { isolate, TEST_REDIS_URL, type Isolation } from '../support/stack';

let iso: Isolation;
let redis: RedisManager;

beforeAll(async () => {
  iso = isolate('cjournal');
  redis = await RedisManager.connect(TEST_REDIS_URL);
});

afterAll(async () => {
  await redis.close();
  await iso.cleanup();
});

const deposit = (n: number): CommandBody => ({
  type: 'deposit',
  userId: String(n),
  asset: 'USDC',
  amount: BigInt(n),
});

/** A stand-in outcome naming the command it settles. */
const outcome = (n: number) =>
  ({ events: [], error: null, reply: { kind: 'user', userId: `u${n}` } }) as Outcome;

const codeOf = (r: Result | undefined) => (r instanceof ServiceFailure ? r.code : 'applied');

describe('CommandJournal', () => {
  it('journals a batch with consecutive request numbers and answers it once all are settled', async () => {
    const stream = `${iso.prefix}commands:batch`;
    const journal = new CommandJournal(redis, stream, { maxBatch: 3 });
    const answer = journal.submitBatch([1, 2, 3, 4, 5].map(deposit));
    const single = journal.submit(deposit(6));
    let answered = false;
    void answer.then(() => (answered = true));

    // The loop's side: read what was journaled and settle it in stream order.
    let entries: { id: string; fields: Record<string, string> }[] = [];
    const journaled = () => entries.flatMap((e) => decodeCommands(e.fields.c));
    for (let i = 0; i < 100 && journaled().length < 6; i++) {
      await new Promise((r) => setTimeout(r, 10));
      entries = await redis.range(stream, '0-0', 10);
    }
    expect(journaled()).toEqual([1, 2, 3, 4, 5, 6].map(deposit));
    expect(entries.length).toBeGreaterThanOrEqual(2); // at most 3 commands per entry
    expect(journal.firstRequestOf('someone-else:1')).toBe(-1);
    // Request numbers run on from entry to entry.
    const numbers = entries.flatMap((e) => {
      const first = journal.firstRequestOf(e.fields.r);
      return decodeCommands(e.fields.c).map((_, i) => first + i);
    });
    expect(numbers).toEqual([0, 1, 2, 3, 4, 5].map((i) => numbers[0] + i));
    expect(CommandJournal.requestIds(entries[0].fields.r, 2)).toEqual([
      `${entries[0].fields.r.split(':')[0]}.${numbers[0]}`,
      `${entries[0].fields.r.split(':')[0]}.${numbers[1]}`,
    ]);

    for (let i = 0; i < 4; i++) journal.settle(numbers[i], outcome(i + 1));
    await new Promise((r) => setImmediate(r));
    expect(answered).toBe(false); // one of the batch is still outstanding
    journal.settle(numbers[5], outcome(6));
    journal.settle(numbers[4], outcome(5));
    expect((await answer).map((r) => (r as Outcome).reply)).toEqual(
      [1, 2, 3, 4, 5].map((n) => ({ kind: 'user', userId: `u${n}` })),
    );
    expect((await single).reply).toEqual({ kind: 'user', userId: 'u6' });
    // A second settle of the same request is ignored.
    journal.settle(numbers[0], outcome(99));
    journal.close();
  });

  it('fails the commands nobody applied in time with APPLY_TIMEOUT', async () => {
    const journal = new CommandJournal(redis, `${iso.prefix}commands:timeout`, {
      applyTimeoutMs: 50,
    });
    const results = await journal.submitBatch([deposit(1), deposit(2)]);
    expect(results.map(codeOf)).toEqual(['APPLY_TIMEOUT', 'APPLY_TIMEOUT']);
    await expect(journal.submit(deposit(3))).rejects.toMatchObject({ code: 'APPLY_TIMEOUT' });
    journal.close();
  });

  it('fails the commands whose append failed with JOURNAL_WRITE_FAILED, outcome unknown', async () => {
    const broken = await RedisManager.connect(TEST_REDIS_URL);
    broken.client.disconnect();
    const journal = new CommandJournal(broken, `${iso.prefix}commands:down`);
    const results = await journal.submitBatch([deposit(1), deposit(2)]);
    expect(results.map(codeOf)).toEqual(['JOURNAL_WRITE_FAILED', 'JOURNAL_WRITE_FAILED']);
    // A failed append cannot tell a command never sent from one whose reply was lost.
    expect((results[0] as ServiceFailure).message).toMatch(/outcome is unknown/);
    await expect(journal.submitAll([deposit(3)])).rejects.toMatchObject({
      code: 'JOURNAL_WRITE_FAILED',
    });
    journal.close();
    await broken.close();
  });

  it('answers commands never sent in time as not journaled, those sent as unknown', async () => {
    // A Redis that takes appends and never answers (a stand-in: no real server stalls on cue).
    const stalled = { push: () => new Promise<string>(() => undefined) } as unknown as RedisManager;
    const journal = new CommandJournal(stalled, `${iso.prefix}commands:stalled`, {
      maxBatch: 1,
      applyTimeoutMs: 50,
    });
    // Two appends of one command each are in flight; the third command waits in the queue.
    const results = await journal.submitBatch([deposit(1), deposit(2), deposit(3)]);
    expect(results.map(codeOf)).toEqual(['APPLY_TIMEOUT', 'APPLY_TIMEOUT', 'JOURNAL_UNAVAILABLE']);
    expect((results[2] as ServiceFailure).message).toMatch(/not applied/);
    journal.close();
  });

  it('fails a command it cannot encode without holding up the ones after it', async () => {
    const journal = new CommandJournal(redis, `${iso.prefix}commands:encode`, { maxBatch: 1 });
    const circular: Record<string, unknown> = { type: 'deposit', userId: '1', asset: 'USDC' };
    circular.self = circular;
    const [bad] = await journal.submitBatch([circular as unknown as CommandBody]);
    expect(codeOf(bad)).toBe('INTERNAL');
    // The journal still appends: the next command reaches the stream.
    // (Nothing applies it here: its caller, a batch, is answered APPLY_TIMEOUT later, no rejection.)
    void journal.submitBatch([deposit(7)]);
    let entries: { fields: Record<string, string> }[] = [];
    for (let i = 0; i < 50 && entries.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
      entries = await redis.range(`${iso.prefix}commands:encode`, '0-0', 10);
    }
    expect(entries.map((e) => decodeCommands(e.fields.c))).toEqual([[deposit(7)]]);
    journal.close();
  });

  it('refuses new commands once closed, and answers an empty batch at once', async () => {
    const journal = new CommandJournal(redis, `${iso.prefix}commands:closed`);
    expect(await journal.submitBatch([])).toEqual([]);
    journal.close();
    expect((await journal.submitBatch([deposit(1)])).map(codeOf)).toEqual(['SHUTTING_DOWN']);
    await expect(journal.submit(deposit(2))).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
  });
});
