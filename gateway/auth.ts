/**
 * API keys to user ids. The engine owns the keys (it stores only their hashes); the gateway asks
 * it once per key and remembers the answer by the key's hash for a minute, so the plain key is
 * never kept or logged, and a user id the engine no longer vouches for (its state was reset) is
 * forgotten soon. Look-ups of keys not in the cache are limited per client address, and unknown
 * keys are remembered briefly, so random keys cannot turn into a stream of engine calls.
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
/** Engine look-ups (cache misses) per client address. */
export const LOOKUPS_PER_IP: BucketSpec = { ratePerSec: 20, burst: 100 };

export interface LookupLimiter {
  /** Resolves if `ip` may make one more look-up; throws a 429 ApiError if not. */
  (ip: string): Promise<void>;
}

export class Authenticator {
  private readonly users = new Map<string, { userId: string; until: number }>();
  private readonly unknown = new Map<string, number>();

  constructor(
    private readonly engine: Pick<EngineApi, 'authenticate'>,
    private readonly lookups: LookupLimiter = () => Promise.resolve(),
  ) {}

  /**
   * The user of an `Authorization: Bearer <key>` header, or 401 (429 when `ip` makes too many
   * look-ups). Returns [userId, keyHash].
   */
  async authenticate(header: string | undefined, ip: string): Promise<[string, string]> {
    const match = /^Bearer ([\x21-\x7e]{1,256})$/.exec(header ?? '');
    if (match === null) {
      throw new ApiError(401, 'UNAUTHENTICATED', 'send Authorization: Bearer <apiKey>');
    }
    const key = match[1];
    const hash = createHash('sha256').update(key).digest('hex');
    const now = Date.now();
    const known = this.users.get(hash);
    if (known !== undefined && known.until > now) return [known.userId, hash];
    if ((this.unknown.get(hash) ?? 0) > now) {
      throw new ApiError(401, 'UNAUTHENTICATED', 'unknown API key');
    }
    await this.lookups(ip);
    try {
      const res = await this.engine.authenticate({ apiKey: key });
      if (this.users.size >= MAX_CACHED) this.users.clear();
      this.users.set(hash, { userId: res.userId, until: now + KNOWN_TTL_MS });
      return [res.userId, hash];
    } catch (err) {
      if (isServiceError(err) && err.code === status.UNAUTHENTICATED) {
        if (this.unknown.size >= MAX_CACHED) this.unknown.clear();
        this.unknown.set(hash, now + UNKNOWN_TTL_MS);
        throw new ApiError(401, 'UNAUTHENTICATED', 'unknown API key');
      }
      throw err;
    }
  }
}
