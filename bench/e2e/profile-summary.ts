/**
 * Summarises a V8 CPU profile (.cpuprofile from node --cpu-prof): the functions with the most
 * self time, and the share of time per package (node_modules/<name>, node internals, the
 * project's own directories, GC, idle). For the gateway profile the e2e bench can take:
 *
 *   node --import tsx bench/e2e/profile-summary.ts /tmp/prof/CPU.*.cpuprofile [top=25]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a frame's code lives: a package, a project directory, node itself, or a VM state. */
function owner(url: string, name: string): string {
  if (url === '') return name.startsWith('(') ? name : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg !== null) return pkg[1];
  const own = /\/(gateway|services|gen|bench|test)\//.exec(url);
  return own !== null ? `project ${own[1]}/` : url;
}

function main(): void {
  const [file, topArg] = process.argv.slice(2);
  if (file === undefined) throw new Error('usage: profile-summary.ts <file.cpuprofile> [top]');
  const top = Number(topArg ?? 25);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  // Self time per node: the sample's time delta goes to the node that was on top.
  const selfUs = new Map<number, number>();
  let totalUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0;
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + dt);
    totalUs += dt;
  }
  const perFunction = new Map<string, number>();
  const perOwner = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = (byId.get(id) as ProfileNode).callFrame;
    const name = functionName === '' ? '(anonymous)' : functionName;
    const where =
      url === ''
        ? ''
        : ` ${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(gateway|services|bench|gen)\//, '$1/')}:${lineNumber + 1}`;
    perFunction.set(name + where, (perFunction.get(name + where) ?? 0) + us);
    const o = owner(url, name);
    perOwner.set(o, (perOwner.get(o) ?? 0) + us);
  }
  const idle = perOwner.get('(idle)') ?? 0;
  const busy = totalUs - idle;
  const pct = (us: number) => `${((100 * us) / busy).toFixed(1).padStart(5)}%`;
  console.log(
    `${(totalUs / 1e6).toFixed(1)} s profiled, ${(busy / 1e6).toFixed(1)} s busy (shares below are of busy time)`,
  );
  console.log('\nself time by owner:');
  for (const [o, us] of [...perOwner].sort((a, b) => b[1] - a[1]).slice(0, 20)) {
    if (o !== '(idle)') console.log(`  ${pct(us)}  ${o}`);
  }
  console.log(`\ntop ${top} functions by self time:`);
  for (const [f, us] of [...perFunction].sort((a, b) => b[1] - a[1]).slice(0, top + 1)) {
    if (!f.startsWith('(idle)')) console.log(`  ${pct(us)}  ${f}`);
  }
}

main();
