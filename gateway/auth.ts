/**
 * API keys to user ids. The engine owns the keys (it stores only their hashes); the gateway asks
 * it once per key and remembers the answer by the key's hash for a minute, so the plain key is
 * never kept or logged, and a user id the engine no longer vouches for (its state was reset) is
 * forgotten soon. Look-ups of keys not in the cache are limited per client address, and unknown
 * keys are remembered briefly, so random keys cannot turn into a stream of engine calls.
 *
 * A key in use never drops out of the cache under its user: in the last REFRESH_AHEAD_MS of its
 * minute, a request answered from the cache also starts one background look-up that renews it.
 * And the requests that miss the cache for one key at the same time (a bot opening hundreds of
 * connections at once) share one look-up and one token of the address's limit: each taking its
 * own used to exhaust the limit and answer an authenticated user's burst with 429s.
 */
import { createHash } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import type { EngineApi } from '../services/lib/grpc/clients';
import { ApiError, isServiceError } from './errors';
import type { BucketSpec } from './rate-limit';

const MAX_CACHED = 100_000;
/** How long a key's user id is trusted without asking the engine again. */
const KNOWN_TTL_MS = 60_000;
/** How long an unknown key is refused without asking the engine again. */
const UNKNOWN_TTL_MS = 10_000;
/** A cached key used within this long of its expiry is renewed in the background. */
const REFRESH_AHEAD_MS = 10_000;
/** Engine look-ups (cache misses) per client address. */
export const LOOKUPS_PER_IP: BucketSpec = { ratePerSec: 20, burst: 100 };

export interface LookupLimiter {
  /** Resolves if `ip` may make one more look-up; throws a 429 ApiError if not. */
  (ip: string): Promise<void>;
}

export class Authenticator {
  private readonly users = new Map<string, { userId: string; until: number; renewing: boolean }>();
  private readonly unknown = new Map<string, number>();
  /** Key hash -> the look-up under way for it, shared by every request that waits for it. */
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(
    private readonly engine: Pick<EngineApi, 'authenticate'>,
    private readonly lookups: LookupLimiter = () => Promise.resolve(),
  ) {}

  /**
   * The user of an `Authorization: Bearer <key>` header, or 401 (429 when `ip` makes too many
   * look-ups). Returns [userId, keyHash]. `ip` may be a function: it is needed only when the key
   * is not in the cache, and working out a request's address costs something.
   */
  async authenticate(
    header: string | undefined,
    ip: string | (() => string),
  ): Promise<[string, string]> {
    const match = /^Bearer ([\x21-\x7e]{1,256})$/.exec(header ?? '');
    if (match === null) {
      throw new ApiError(401, 'UNAUTHENTICATED', 'send Authorization: Bearer <apiKey>');
    }
    const key = match[1];
    const hash = createHash('sha256').update(key).digest('hex');
    const now = Date.now();
    const known = this.users.get(hash);
    if (known !== undefined && known.until > now) {
      if (known.until - now <= REFRESH_AHEAD_MS && !known.renewing) {
        // Renewal is not the caller's look-up: it takes no token. It is tried once per entry: a
        // renewal that fails (engine unavailable) leaves the entry to run out, after which the
        // next request looks the key up as usual. An unknown key is forgotten by ask itself.
        known.renewing = true;
        this.lookUp(key, hash).catch(() => undefined);
      }
      return [known.userId, hash];
    }
    if ((this.unknown.get(hash) ?? 0) > now) {
      throw new ApiError(401, 'UNAUTHENTICATED', 'unknown API key');
    }
    const pending = this.inflight.get(hash);
    if (pending !== undefined) return [await pending, hash];
    // The flight is registered in this same turn, before anything is awaited, so that the
    // requests of this turn join it instead of each taking a token. They share its outcome, a
    // refusal by the first one's address limit included (the same key, so the same user).
    return [await this.lookUp(key, hash, ip), hash];
  }

  /** One look-up of `key` at a time; with `ip`, it first takes a token of that address. */
  private lookUp(key: string, hash: string, ip?: string | (() => string)): Promise<string> {
    const flight = (async () => {
      if (ip !== undefined) await this.lookups(typeof ip === 'string' ? ip : ip());
      return this.ask(key, hash);
    })();
    this.inflight.set(hash, flight);
    const landed = () => {
      if (this.inflight.get(hash) === flight) this.inflight.delete(hash);
    };
    flight.then(landed, landed);
    return flight;
  }

  private async ask(key: string, hash: string): Promise<string> {
    try {
      const res = await this.engine.authenticate({ apiKey: key });
      if (this.users.size >= MAX_CACHED) this.users.clear();
      this.users.set(hash, {
        userId: res.userId,
        until: Date.now() + KNOWN_TTL_MS,
        renewing: false,
      });
      return res.userId;
    } catch (err) {
      if (isServiceError(err) && err.code === status.UNAUTHENTICATED) {
        this.users.delete(hash);
        if (this.unknown.size >= MAX_CACHED) this.unknown.clear();
        this.unknown.set(hash, Date.now() + UNKNOWN_TTL_MS);
        throw new ApiError(401, 'UNAUTHENTICATED', 'unknown API key');
      }
      throw err;
    }
  }
}
