/**
 * API keys to user ids. The engine owns the keys (it stores only their hashes); the gateway asks
 * it once per key and remembers the answer by the key's hash (keys are never reassigned), so
 * the plain key is never kept or logged.
 */
import { createHash } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import type { EngineApi } from '../services/lib/grpc/clients';
import { ApiError, isServiceError } from './errors';

const MAX_CACHED = 100_000;

export class Authenticator {
  private readonly users = new Map<string, string>();

  constructor(private readonly engine: EngineApi) {}

  /** The user of an `Authorization: Bearer <key>` header, or 401. Returns [userId, keyHash]. */
  async authenticate(header: string | undefined): Promise<[string, string]> {
    const match = /^Bearer ([\x21-\x7e]{1,256})$/.exec(header ?? '');
    if (match === null) {
      throw new ApiError(401, 'UNAUTHENTICATED', 'send Authorization: Bearer <apiKey>');
    }
    const key = match[1];
    const hash = createHash('sha256').update(key).digest('hex');
    const known = this.users.get(hash);
    if (known !== undefined) return [known, hash];
    try {
      const res = await this.engine.authenticate({ apiKey: key });
      if (this.users.size >= MAX_CACHED) this.users.clear();
      this.users.set(hash, res.userId);
      return [res.userId, hash];
    } catch (err) {
      if (isServiceError(err) && err.code === status.UNAUTHENTICATED) {
        throw new ApiError(401, 'UNAUTHENTICATED', 'unknown API key');
      }
      throw err;
    }
  }
}
