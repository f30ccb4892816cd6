/**
 * lowerPriority in a child process of its own (a niceness cannot be taken back without
 * privilege, so the test runner's threads and session are left alone; Linux, where a niceness
 * is per thread and sessions share the CPU first): every thread ends at the niceness asked for,
 * a niceness already higher is kept, and the session's niceness is raised only by a process
 * that leads its session.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import path from 'node:path';
import { lowerPriority, type PriorityResult } from '../../services/lib/priority';

const ROOT = path.join(__dirname, '..', '..');

interface Seen {
  readonly result: PriorityResult;
  /** Each thread's niceness afterwards. */
  readonly threadNices: number[];
  /** The session's niceness before and after. */
  readonly sessionBefore: number;
  readonly sessionAfter: number;
  readonly leader: boolean;
}

const autogroupNice = (text: string): number => Number(/ nice (-?\d+)/.exec(text)?.[1]);

/**
 * Runs lowerPriority(nice) in a fresh Node under `nice -n by`, in a session of its own: led by
 * the Node process itself (`leader`), or by a shell around it, so that a broken implementation
 * changes that throwaway session and never the test runner's.
 */
function inChild(nice: number, by: number, leader = false): Seen {
  const script = `
    const { lowerPriority } = require('./services/lib/priority.ts');
    const { readdirSync, readFileSync } = require('node:fs');
    const group = () =>
      Number(/ nice (-?\\d+)/.exec(readFileSync('/proc/self/autogroup', 'utf8'))[1]);
    const stat = (file) => {
      const s = readFileSync(file, 'utf8');
      return s.slice(s.lastIndexOf(')') + 2).split(' ');
    };
    const sessionBefore = group();
    const result = lowerPriority(${nice});
    // Field 19 of a thread's stat is its niceness (field 6 of the process's, its session).
    const threadNices = readdirSync('/proc/self/task').map((tid) =>
      Number(stat('/proc/self/task/' + tid + '/stat')[16]),
    );
    const leader = Number(stat('/proc/self/stat')[3]) === process.pid;
    const sessionAfter = group();
    process.stdout.write(
      JSON.stringify({ result, threadNices, sessionBefore, sessionAfter, leader }),
    );
  `;
  const node = [process.execPath, '--import', 'tsx', '-e', script];
  // `; exit $?` keeps the shell from exec'ing Node, so the shell leads the session.
  const command = leader
    ? ['setsid', '--wait', ...node]
    : ['setsid', '--wait', 'sh', '-c', '"$@"; exit $?', 'sh', ...node];
  const out = execFileSync('nice', ['-n', String(by), ...command], { cwd: ROOT, encoding: 'utf8' });
  return JSON.parse(out) as Seen;
}

/** The test runner's own niceness: `nice -n` adds to it. */
const base = getPriority(0);
const ownSession = (): number => autogroupNice(readFileSync('/proc/self/autogroup', 'utf8'));

describe('lowerPriority', () => {
  // Targets above the runner's own niceness, so that every thread has to change.
  it('sets every thread of the process, helper threads included', () => {
    const target = Math.min(19, base + 7);
    const seen = inChild(target, 0);
    expect(seen.result.error).toBeUndefined();
    expect(seen.result.nice).toBe(target);
    // Node runs several threads (V8's platform workers, libuv's) before any code of ours.
    expect(seen.threadNices.length).toBeGreaterThan(3);
    expect(seen.result.threads).toBeGreaterThanOrEqual(seen.threadNices.length - 1);
    expect(new Set(seen.threadNices)).toEqual(new Set([target]));
  });

  it('keeps a niceness that is already higher', () => {
    const higher = Math.min(19, base + 12);
    const seen = inChild(Math.max(0, higher - 7), higher - base);
    expect(seen.result.error).toBeUndefined();
    expect(seen.result.nice).toBe(higher);
    expect(new Set(seen.threadNices)).toEqual(new Set([higher]));
  });

  it("leaves the session's niceness alone when it does not lead the session", () => {
    const before = ownSession();
    const seen = inChild(Math.min(19, base + 9), 0);
    expect(seen.leader).toBe(false);
    expect(seen.result.session).toBeNull();
    expect(seen.sessionAfter).toBe(seen.sessionBefore);
    expect(ownSession()).toBe(before);
  });

  it("raises its session's niceness when it leads the session (as npm start runs History)", () => {
    const target = Math.min(19, base + 8);
    const seen = inChild(target, 0, true);
    expect(seen.leader).toBe(true);
    expect(seen.result.error).toBeUndefined();
    expect(seen.sessionBefore).toBeLessThan(target);
    expect(seen.result.session).toBe(target);
    expect(seen.sessionAfter).toBe(target);
    expect(new Set(seen.threadNices)).toEqual(new Set([target]));
  });

  it('refuses a niceness outside 0-19 before changing anything', () => {
    expect(() => lowerPriority(20)).toThrow(RangeError);
    expect(() => lowerPriority(-1)).toThrow(RangeError);
    expect(() => lowerPriority(2.5)).toThrow(RangeError);
  });
});
