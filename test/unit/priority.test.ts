/**
 * lowerPriority in a child process of its own (niceness cannot be taken back without privilege,
 * so the test runner's own threads are left alone; Linux, where a niceness is per thread): every thread of the process ends at the asked
 * niceness, and a niceness already higher is kept.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { lowerPriority } from '../../services/lib/priority';

const ROOT = path.join(__dirname, '..', '..');

/** Runs lowerPriority(nice) in a fresh Node (under `nice -n start`), returns what it saw. */
function inChild(
  nice: number,
  start = 0,
): { result: { nice: number; threads: number }; threadNices: number[] } {
  const script = `
    const { lowerPriority } = require('./services/lib/priority.ts');
    const { readdirSync, readFileSync } = require('node:fs');
    const result = lowerPriority(${nice});
    // Field 19 of /proc/<pid>/task/<tid>/stat is the niceness (after the command in parentheses).
    const threadNices = readdirSync('/proc/self/task').map((tid) => {
      const stat = readFileSync('/proc/self/task/' + tid + '/stat', 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
    });
    process.stdout.write(JSON.stringify({ result, threadNices }));
  `;
  const out = execFileSync(
    'nice',
    ['-n', String(start), process.execPath, '--import', 'tsx', '-e', script],
    {
      cwd: ROOT,
      encoding: 'utf8',
    },
  );
  return JSON.parse(out) as { result: { nice: number; threads: number }; threadNices: number[] };
}

describe('lowerPriority', () => {
  it('sets every thread of the process, helper threads included', () => {
    const { result, threadNices } = inChild(7);
    expect(result.nice).toBe(7);
    // Node runs several threads (V8's platform workers, libuv's) before any code of ours.
    expect(threadNices.length).toBeGreaterThan(3);
    expect(result.threads).toBe(threadNices.length);
    expect(new Set(threadNices)).toEqual(new Set([7]));
  });

  it('keeps a niceness that is already higher', () => {
    const { result, threadNices } = inChild(5, 12);
    expect(result.nice).toBe(12);
    expect(new Set(threadNices)).toEqual(new Set([12]));
  });

  it('refuses a niceness outside 0-19 before changing anything', () => {
    expect(() => lowerPriority(20)).toThrow(RangeError);
    expect(() => lowerPriority(-1)).toThrow(RangeError);
    expect(() => lowerPriority(2.5)).toThrow(RangeError);
  });
});
