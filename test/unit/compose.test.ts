/**
 * docker-compose.yml against the code. No Docker engine runs where the tests do, so this reads
 * the file and checks what `docker compose up` would otherwise find out the hard way: each of our
 * services runs an entry point that exists, sets only variables that entry point's config schema
 * reads (with values it accepts), listens where it is published and where others point, shares
 * one Redis prefix and one database with the others, starts only after what it needs is healthy
 * (or, for the migrations, done), and can be health-checked. Each check returns the problems it
 * finds; the last block mutates the file to show every check can fail.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { migrateConfigSchema } from '../../db/migrate-main';
import {
  engineConfigSchema,
  gatewayConfigSchema,
  historyConfigSchema,
  marketMakerConfigSchema,
} from '../../services/lib/config';

const ROOT = path.join(__dirname, '..', '..');
const COMPOSE_FILE = path.join(ROOT, 'docker-compose.yml');

type Env = Record<string, string | number | boolean | null>;

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string | string[];
  environment?: Env | string[];
  ports?: (string | number | { target?: number })[];
  expose?: (string | number)[];
  volumes?: (string | { type?: string; source?: string; target?: string })[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  stop_signal?: string;
  stop_grace_period?: string;
}

interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** What the checks need of a config schema (each of services/lib/config.ts fits). */
interface EnvSchema {
  readonly shape: object;
  safeParse(env: unknown): { success: boolean; data?: object };
}

const ENGINE = 'services/engine/main.ts';
const HISTORY = 'services/history/main.ts';
const GATEWAY = 'gateway/main.ts';
const MARKET_MAKER = 'services/bots/main.ts';
const MIGRATE = 'db/migrate-main.ts';

/** The schema each entry point loads: exactly the variables it reads. */
const SCHEMA_OF_ENTRY: Record<string, EnvSchema> = {
  [ENGINE]: engineConfigSchema,
  [HISTORY]: historyConfigSchema,
  [GATEWAY]: gatewayConfigSchema,
  [MARKET_MAKER]: marketMakerConfigSchema,
  [MIGRATE]: migrateConfigSchema,
};

/** The variable naming the port an entry point listens on; absent: it listens on none. */
const PORT_VAR_OF_ENTRY: Record<string, string> = {
  [ENGINE]: 'ENGINE_PORT',
  [HISTORY]: 'HISTORY_PORT',
  [GATEWAY]: 'PORT',
};

/** Entry points that run to completion: others wait for them to have succeeded. */
const ONE_SHOT_ENTRIES = new Set([MIGRATE]);

/** Ports the third-party images listen on, by image name without its tag. */
const IMAGE_PORTS: Record<string, number> = { redis: 6379, postgres: 5432 };

/** Variables that point at another service, and what that service must be (entry or image). */
const ADDRESS_VARS: Record<string, string> = {
  ENGINE_ADDR: ENGINE,
  HISTORY_ADDR: HISTORY,
  REDIS_URL: 'redis',
  DATABASE_URL: 'postgres',
};

/** Settings every service that reads them must agree on: one stack, one journal, one database. */
const SHARED_VARS = ['REDIS_PREFIX', 'REDIS_URL', 'DATABASE_URL', 'DATABASE_SCHEMA'];

const HEALTHY = 'service_healthy';
const COMPLETED = 'service_completed_successfully';

// --- reading the file --------------------------------------------------------------------------

function load(): ComposeFile {
  return parse(readFileSync(COMPOSE_FILE, 'utf8')) as ComposeFile;
}

/** The environment as the container sees it (compose turns every value into a string). */
function envOf(service: ComposeService): Record<string, string | null> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => {
        const eq = entry.indexOf('=');
        return eq < 0 ? [entry, null] : [entry.slice(0, eq), entry.slice(eq + 1)];
      }),
    );
  }
  return Object.fromEntries(
    Object.entries(env).map(([k, v]) => [k, v === null ? null : String(v)]),
  );
}

/** Our services are built from the Dockerfile; the others come from an image. */
const isOurs = (service: ComposeService) => service.build !== undefined;

/** The TypeScript file a built service runs (the last `.ts` argument of its command). */
function entryOf(service: ComposeService): string | undefined {
  const command = typeof service.command === 'string' ? [service.command] : service.command;
  return command?.filter((arg) => arg.endsWith('.ts')).at(-1);
}

/** What a service is: its entry file if ours, else its image's name without tag. */
function roleOf(service: ComposeService): string | undefined {
  return isOurs(service) ? entryOf(service) : service.image?.split(':')[0];
}

/** The configuration the service's entry point would load (defaults included), if valid. */
function configOf(service: ComposeService): Record<string, unknown> | undefined {
  const entry = entryOf(service);
  const schema = entry === undefined ? undefined : SCHEMA_OF_ENTRY[entry];
  const result = schema?.safeParse(envOf(service));
  return result?.success ? (result.data as Record<string, unknown>) : undefined;
}

/** The port a service listens on inside its container, if any. */
function listenPortOf(service: ComposeService): number | undefined {
  if (!isOurs(service)) return IMAGE_PORTS[roleOf(service) ?? ''];
  const portVar = PORT_VAR_OF_ENTRY[entryOf(service) ?? ''];
  const value = portVar === undefined ? undefined : configOf(service)?.[portVar];
  return value === undefined ? undefined : Number(value);
}

/** Container ports a service publishes or exposes ("3000", "3000:3000", "127.0.0.1:80:3000/tcp"). */
function containerPortsOf(service: ComposeService): number[] {
  const published = (service.ports ?? []).map((p) =>
    typeof p === 'object' ? Number(p.target) : Number(String(p).split('/')[0].split(':').at(-1)),
  );
  const exposed = (service.expose ?? []).map((p) => Number(String(p).split('/')[0]));
  return [...published, ...exposed];
}

function dependenciesOf(service: ComposeService): Record<string, string> {
  const deps = service.depends_on ?? {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((d) => [d, 'service_started']));
  return Object.fromEntries(
    Object.entries(deps).map(([name, d]) => [name, d.condition ?? 'service_started']),
  );
}

function healthTestOf(service: ComposeService): string {
  const test = service.healthcheck?.test ?? [];
  return typeof test === 'string' ? test : test.join(' ');
}

/** `host:port` of an address variable's value (`engine:50051`, `redis://redis:6379/0`). */
function hostPort(name: string, value: string): { host: string; port: number } | undefined {
  if (name.endsWith('_URL')) {
    try {
      const url = new URL(value);
      const defaultPort = url.protocol.startsWith('redis') ? 6379 : 5432;
      return { host: url.hostname, port: url.port === '' ? defaultPort : Number(url.port) };
    } catch {
      return undefined;
    }
  }
  const m = /^([^:]+):(\d+)$/.exec(value);
  return m === null ? undefined : { host: m[1], port: Number(m[2]) };
}

const ours = (compose: ComposeFile) =>
  Object.entries(compose.services).filter(([, s]) => isOurs(s));

const isOneShot = (service: ComposeService) => ONE_SHOT_ENTRIES.has(entryOf(service) ?? '');

// --- the checks: each returns the problems it finds -------------------------------------------

/** Every built service runs an entry point that exists and whose schema we know; all run. */
function checkEntryPoints(compose: ComposeFile): string[] {
  const problems: string[] = [];
  const running = new Set<string>();
  for (const [name, service] of ours(compose)) {
    if (service.build !== '.') problems.push(`${name}: built from ${String(service.build)}, not .`);
    const entry = entryOf(service);
    if (entry === undefined) {
      problems.push(`${name}: no .ts entry point in its command`);
      continue;
    }
    running.add(entry);
    if (!existsSync(path.join(ROOT, entry))) problems.push(`${name}: ${entry} does not exist`);
    if (SCHEMA_OF_ENTRY[entry] === undefined) problems.push(`${name}: no schema for ${entry}`);
  }
  for (const entry of Object.keys(SCHEMA_OF_ENTRY)) {
    if (!running.has(entry)) problems.push(`no service runs ${entry}`);
  }
  return problems;
}

/** Every variable set is one the entry point reads, and the set parses with its schema. */
function checkEnvironment(compose: ComposeFile): string[] {
  const problems: string[] = [];
  for (const [name, service] of ours(compose)) {
    const schema = SCHEMA_OF_ENTRY[entryOf(service) ?? ''];
    if (schema === undefined) continue; // checkEntryPoints reports it
    const env = envOf(service);
    for (const [key, value] of Object.entries(env)) {
      if (!(key in schema.shape)) problems.push(`${name}: sets ${key}, which it never reads`);
      if (value === null) problems.push(`${name}: ${key} takes its value from the host`);
    }
    if (!schema.safeParse(env).success) problems.push(`${name}: its environment does not parse`);
  }
  return problems;
}

/** A listener publishes (or exposes) its own port and health-checks it; others publish none. */
function checkPorts(compose: ComposeFile): string[] {
  const problems: string[] = [];
  for (const [name, service] of ours(compose)) {
    const port = listenPortOf(service);
    const listed = containerPortsOf(service);
    if (port === undefined) {
      if (listed.length > 0) problems.push(`${name}: publishes ${listed} but listens on none`);
      continue;
    }
    if (listed.length === 0) problems.push(`${name}: listens on ${port} but publishes nothing`);
    for (const p of listed) {
      if (p !== port) problems.push(`${name}: publishes ${p} but listens on ${port}`);
    }
    for (const m of healthTestOf(service).matchAll(/(127\.0\.0\.1|localhost):(\d+)/g)) {
      if (Number(m[2]) !== port) {
        problems.push(`${name}: health check on ${m[2]} but listens on ${port}`);
      }
    }
  }
  return problems;
}

/**
 * Every address a service uses (as configured, defaults included) names the compose service of
 * the right kind and the port it listens on, and the service waits for it. Health checks that
 * reach another service are held to the same.
 */
function checkAddresses(compose: ComposeFile): string[] {
  const problems: string[] = [];
  const pointsAt = (from: string, what: string, value: string, expectedRole: string) => {
    const target = hostPort(what, value);
    const service = target === undefined ? undefined : compose.services[target.host];
    if (target === undefined || service === undefined) {
      problems.push(`${from}: ${what}=${value} is not a compose service`);
      return;
    }
    if (roleOf(service) !== expectedRole) {
      problems.push(`${from}: ${what} points at ${target.host}, which is not ${expectedRole}`);
    }
    if (listenPortOf(service) !== target.port) {
      problems.push(
        `${from}: ${what} uses port ${target.port}, ${target.host} listens on ${listenPortOf(service)}`,
      );
    }
    if (dependenciesOf(compose.services[from])[target.host] === undefined) {
      problems.push(`${from}: uses ${target.host} (${what}) but does not depend on it`);
    }
  };
  for (const [name, service] of ours(compose)) {
    const config = configOf(service);
    if (config === undefined) continue; // checkEnvironment reports it
    for (const [what, role] of Object.entries(ADDRESS_VARS)) {
      if (what in config) pointsAt(name, what, String(config[what]), role);
    }
    for (const m of healthTestOf(service).matchAll(/'([a-z][a-z0-9-]*):(\d+)'/g)) {
      const role = roleOf(compose.services[m[1]] ?? {});
      if (m[1] !== 'localhost') pointsAt(name, 'health check', `${m[1]}:${m[2]}`, role ?? m[1]);
    }
  }
  return problems;
}

/** One Redis prefix, one Redis, one database and schema for every service that reads them. */
function checkShared(compose: ComposeFile): string[] {
  const problems: string[] = [];
  for (const key of SHARED_VARS) {
    const values = new Map<string, string[]>();
    for (const [name, service] of ours(compose)) {
      const config = configOf(service);
      if (config === undefined || !(key in config)) continue;
      const value = String(config[key]);
      values.set(value, [...(values.get(value) ?? []), name]);
    }
    if (values.size > 1) {
      const sides = [...values].map(([v, names]) => `${names.join(', ')}: ${v}`);
      problems.push(`${key} differs: ${sides.join(' / ')}`);
    }
  }
  return problems;
}

/** Redis keeps an append-only file synced on every write, on a volume; Postgres on a volume. */
function checkStorage(compose: ComposeFile): string[] {
  const problems: string[] = [];
  const named = (service: ComposeService | undefined, target: string) =>
    (service?.volumes ?? []).some((v) => {
      const [source, mountedAt] =
        typeof v === 'string' ? v.split(':') : [v.type === 'volume' ? v.source : '', v.target];
      return mountedAt === target && source !== undefined && source in (compose.volumes ?? {});
    });
  const redis = compose.services.redis;
  const command = typeof redis?.command === 'string' ? redis.command.split(' ') : redis?.command;
  const hasOption = (option: string, value: string) =>
    (command ?? []).some((arg, i) => arg === option && command?.[i + 1] === value);
  if (!hasOption('--appendonly', 'yes')) problems.push('redis: --appendonly yes is missing');
  if (!hasOption('--appendfsync', 'always'))
    problems.push('redis: --appendfsync always is missing');
  if (!named(redis, '/data')) problems.push('redis: /data is not on a named volume');
  if (!named(compose.services.postgres, '/var/lib/postgresql/data')) {
    problems.push('postgres: its data directory is not on a named volume');
  }
  return problems;
}

/** Everything that keeps running has a health check; our services stop on SIGTERM, with grace. */
function checkHealthAndStop(compose: ComposeFile): string[] {
  const problems: string[] = [];
  for (const [name, service] of Object.entries(compose.services)) {
    if (isOneShot(service)) continue;
    if (service.healthcheck?.disable === true || healthTestOf(service).trim() === '') {
      problems.push(`${name}: no health check`);
    }
    if (isOurs(service) && service.stop_signal !== 'SIGTERM') {
      problems.push(`${name}: stop_signal is not SIGTERM`);
    }
    if (isOurs(service) && service.stop_grace_period === undefined) {
      problems.push(`${name}: no stop_grace_period`);
    }
  }
  return problems;
}

/**
 * Start order: a dependency is waited for until healthy, or until done for a one-shot; the
 * services that own the schema wait for the migrations, the gateway for engine and history, the
 * market maker for the engine.
 */
function checkDependencies(compose: ComposeFile): string[] {
  const problems: string[] = [];
  const required: Record<string, string[]> = {
    [ENGINE]: [MIGRATE],
    [HISTORY]: [MIGRATE],
    [GATEWAY]: [ENGINE, HISTORY],
    [MARKET_MAKER]: [ENGINE],
    [MIGRATE]: ['postgres'],
  };
  for (const [name, service] of Object.entries(compose.services)) {
    const deps = dependenciesOf(service);
    for (const [dep, condition] of Object.entries(deps)) {
      const target = compose.services[dep];
      if (target === undefined) {
        problems.push(`${name}: depends on ${dep}, which is not a service`);
        continue;
      }
      const expected = isOneShot(target) ? COMPLETED : HEALTHY;
      if (condition !== expected) problems.push(`${name}: waits for ${dep} ${condition}`);
    }
    const roles = new Set(Object.keys(deps).map((d) => roleOf(compose.services[d] ?? {})));
    for (const role of required[roleOf(service) ?? ''] ?? []) {
      if (!roles.has(role)) problems.push(`${name}: does not wait for ${role}`);
    }
  }
  return problems;
}

const CHECKS = {
  checkEntryPoints,
  checkEnvironment,
  checkPorts,
  checkAddresses,
  checkShared,
  checkStorage,
  checkHealthAndStop,
  checkDependencies,
};

const allProblems = (compose: ComposeFile) =>
  Object.values(CHECKS).flatMap((check) => check(compose));

// --- the file -----------------------------------------------------------------------------------

describe('docker-compose.yml', () => {
  const compose = load();

  it('runs every entry point, each from an existing file of this image', () => {
    expect(checkEntryPoints(compose)).toEqual([]);
  });

  it('sets only variables each entry point reads, with values its schema accepts', () => {
    expect(checkEnvironment(compose)).toEqual([]);
  });

  it('publishes and health-checks each listener on the port it is configured for', () => {
    expect(checkPorts(compose)).toEqual([]);
  });

  it('points every address at the right service and port, and waits for it', () => {
    expect(checkAddresses(compose)).toEqual([]);
  });

  it('shares one Redis prefix, Redis, database and schema across services', () => {
    expect(checkShared(compose)).toEqual([]);
  });

  it('keeps a Redis AOF synced on every write, and both stores on named volumes', () => {
    expect(checkStorage(compose)).toEqual([]);
  });

  it('health-checks every long-running service and stops ours with SIGTERM and grace', () => {
    expect(checkHealthAndStop(compose)).toEqual([]);
  });

  it('starts each service once migrations are done and what it uses is healthy', () => {
    expect(checkDependencies(compose)).toEqual([]);
  });
});

// --- the checks can fail ----------------------------------------------------------------------

/** A change to the file, and a piece of the problem the checks must then report. */
const MUTATIONS: [string, (c: ComposeFile) => void, string][] = [
  [
    'an entry file that does not exist',
    (c) => (c.services.history.command = ['node', '--import', 'tsx', 'services/history/mian.ts']),
    'does not exist',
  ],
  [
    'a service left out',
    (c) => delete c.services['market-maker'],
    `no service runs ${MARKET_MAKER}`,
  ],
  [
    'a variable its service never reads',
    (c) => ((c.services['market-maker'].environment as Env).REDIS_PREFIX = 'exchange:'),
    'sets REDIS_PREFIX, which it never reads',
  ],
  [
    'a value its schema refuses',
    (c) => ((c.services.engine.environment as Env).JOURNAL_TRIM = 'maybe'),
    'engine: its environment does not parse',
  ],
  [
    'a published port other than the one configured',
    (c) => ((c.services.gateway.environment as Env).PORT = '8080'),
    'gateway: publishes 3000 but listens on 8080',
  ],
  [
    'a listener published nowhere',
    (c) => delete c.services.history.ports,
    'history: listens on 50052 but publishes nothing',
  ],
  [
    'a health check on another port',
    (c) => ((c.services.engine.environment as Env).ENGINE_PORT = '50061'),
    'engine: health check on 50051 but listens on 50061',
  ],
  [
    'an address with the wrong port',
    (c) => ((c.services.gateway.environment as Env).HISTORY_ADDR = 'history:50051'),
    'gateway: HISTORY_ADDR uses port 50051, history listens on 50052',
  ],
  [
    'an address naming the wrong service',
    (c) => ((c.services.gateway.environment as Env).ENGINE_ADDR = 'history:50052'),
    `gateway: ENGINE_ADDR points at history, which is not ${ENGINE}`,
  ],
  [
    'an address left at its localhost default',
    (c) => delete (c.services['market-maker'].environment as Env).ENGINE_ADDR,
    'market-maker: ENGINE_ADDR=127.0.0.1:50051 is not a compose service',
  ],
  [
    'a Redis URL naming no service',
    (c) => ((c.services.history.environment as Env).REDIS_URL = 'redis://cache:6379'),
    'history: REDIS_URL=redis://cache:6379 is not a compose service',
  ],
  [
    'a database URL naming no service',
    (c) =>
      ((c.services.gateway.environment as Env).DATABASE_URL =
        'postgresql://postgres@db:5432/exchange'),
    'gateway: DATABASE_URL=postgresql://postgres@db:5432/exchange is not a compose service',
  ],
  [
    'a service used but not waited for',
    (c) => delete (c.services.gateway.depends_on as Record<string, unknown>).postgres,
    'gateway: uses postgres (DATABASE_URL) but does not depend on it',
  ],
  [
    'a health check reaching the wrong port',
    (c) =>
      (c.services['market-maker'].healthcheck = { test: ['CMD', 'node', '-e', "'engine:3000'"] }),
    'market-maker: health check uses port 3000, engine listens on 50051',
  ],
  [
    'another Redis prefix',
    (c) => ((c.services.history.environment as Env).REDIS_PREFIX = 'other:'),
    'REDIS_PREFIX differs',
  ],
  [
    'a Redis prefix left at its default where the others set another',
    (c) => {
      for (const s of Object.values(c.services)) {
        if (s.environment && 'REDIS_PREFIX' in s.environment) {
          (s.environment as Env).REDIS_PREFIX = 'stack1:';
        }
      }
      delete (c.services.gateway.environment as Env).REDIS_PREFIX;
    },
    'REDIS_PREFIX differs',
  ],
  [
    'another database',
    (c) =>
      ((c.services.engine.environment as Env).DATABASE_URL =
        'postgresql://postgres@postgres:5432/other'),
    'DATABASE_URL differs',
  ],
  [
    'migrations into another schema',
    (c) => ((c.services.migrate.environment as Env).DATABASE_SCHEMA = 'other'),
    'DATABASE_SCHEMA differs',
  ],
  [
    'Redis without AOF',
    (c) => (c.services.redis.command = ['redis-server', '--appendfsync', 'always']),
    'redis: --appendonly yes is missing',
  ],
  [
    'Redis syncing every second',
    (c) =>
      (c.services.redis.command = [
        'redis-server',
        '--appendonly',
        'yes',
        '--appendfsync',
        'everysec',
      ]),
    'redis: --appendfsync always is missing',
  ],
  [
    'Postgres without a volume',
    (c) => delete c.services.postgres.volumes,
    'postgres: its data directory is not on a named volume',
  ],
  [
    'Postgres on a bind mount',
    (c) => (c.services.postgres.volumes = ['./pgdata:/var/lib/postgresql/data']),
    'postgres: its data directory is not on a named volume',
  ],
  [
    'a service without a health check',
    (c) => delete c.services.history.healthcheck,
    'history: no health check',
  ],
  [
    'a disabled health check',
    (c) => (c.services.redis.healthcheck = { disable: true }),
    'redis: no health check',
  ],
  [
    'another stop signal',
    (c) => (c.services.engine.stop_signal = 'SIGKILL'),
    'engine: stop_signal is not SIGTERM',
  ],
  [
    'no grace period',
    (c) => delete c.services.engine.stop_grace_period,
    'engine: no stop_grace_period',
  ],
  [
    'waiting only for a dependency to start',
    (c) =>
      ((c.services.gateway.depends_on as Record<string, { condition?: string }>).engine = {
        condition: 'service_started',
      }),
    'gateway: waits for engine service_started',
  ],
  [
    'waiting for the migrations to be healthy instead of done',
    (c) =>
      ((c.services.engine.depends_on as Record<string, { condition?: string }>).migrate = {
        condition: HEALTHY,
      }),
    'engine: waits for migrate service_healthy',
  ],
  [
    'not waiting for the migrations',
    (c) => delete (c.services.history.depends_on as Record<string, unknown>).migrate,
    `history: does not wait for ${MIGRATE}`,
  ],
  [
    'the gateway not waiting for history',
    (c) => delete (c.services.gateway.depends_on as Record<string, unknown>).history,
    `gateway: does not wait for ${HISTORY}`,
  ],
  [
    'a dependency on no service',
    (c) =>
      ((c.services['market-maker'].depends_on as Record<string, { condition?: string }>).bots = {
        condition: HEALTHY,
      }),
    'market-maker: depends on bots, which is not a service',
  ],
];

describe('the checks', () => {
  it('find nothing wrong with the file as it is', () => {
    expect(allProblems(load())).toEqual([]);
  });

  it.each(MUTATIONS)('notice %s', (_, mutate, expected) => {
    const compose = load();
    mutate(compose);
    expect(allProblems(compose).join('\n')).toContain(expected);
  });
});
