/**
 * The Express app of the gateway: request ids and logs, metrics, JSON bodies (64 KiB at most),
 * auth and rate limits, validation of every request against its route's schemas, one gRPC call
 * per route, and one error shape for every failure.
 */
import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { pinoHttp } from 'pino-http';
import type { z } from 'zod';
import type { Logger } from '../services/lib/logger';
import type { Authenticator } from './auth';
import { ApiError, errorBody, fromServiceError, isServiceError } from './errors';
import { jsonBody } from './json-body';
import type { GatewayMetrics } from './metrics';
import { docsPage, openApiDocument } from './openapi';
import type { BucketSpec, RateLimiter } from './rate-limit';
import type { Backends, Route } from './route';
import { ROUTES } from './routes';

export interface AppOptions {
  readonly backends: Backends;
  readonly auth: Authenticator;
  readonly limiter: RateLimiter;
  readonly metrics: GatewayMetrics;
  readonly log: Logger;
  /** Per API key, on private routes. */
  readonly perKey: BucketSpec;
  /** Per IP, on POST /user/new. */
  readonly newUserPerIp: BucketSpec;
  readonly routes?: readonly Route[];
}

/** Largest JSON body accepted; larger is 413. */
export const MAX_BODY = '64kb';
/** {@link MAX_BODY} in bytes (body-parser reads "kb" as 1024). */
const MAX_BODY_BYTES = 64 * 1024;

/** A validation failure's code, from the field it is about (the same codes the engine uses). */
const CODE_OF_FIELD: Record<string, string> = {
  price: 'INVALID_PRICE',
  quantity: 'INVALID_QUANTITY',
  quoteQuantity: 'INVALID_QUANTITY',
  amount: 'INVALID_AMOUNT',
  market: 'INVALID_MARKET',
  asset: 'INVALID_ASSET',
};

function validate<T>(schema: z.ZodType<T> | undefined, value: unknown, where: string): T {
  if (schema === undefined) return undefined as T;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue.path.length > 0 ? String(issue.path[0]) : '';
  const message = result.error.issues
    .slice(0, 5)
    .map((i) => {
      const path = [where, ...i.path.map(String)].join('.');
      return i.code === 'unrecognized_keys'
        ? `${path}: unknown field(s) ${i.keys.join(', ')}`
        : `${path}: ${i.message}`;
    })
    .join('; ');
  throw new ApiError(400, CODE_OF_FIELD[field] ?? 'INVALID_REQUEST', message);
}

function clientIp(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

export async function limit(
  limiter: RateLimiter,
  bucket: string,
  spec: BucketSpec,
  what: string,
): Promise<void> {
  let waitMs: number;
  try {
    waitMs = await limiter.take(bucket, spec);
  } catch {
    // The limits live in Redis: without it the gateway cannot tell, so it refuses politely.
    throw new ApiError(
      503,
      'UNAVAILABLE',
      'the gateway cannot reach its rate limits, retry shortly',
    );
  }
  if (waitMs > 0) {
    throw new ApiError(429, 'RATE_LIMITED', `too many requests ${what}; retry later`, {
      'Retry-After': String(Math.max(1, Math.ceil(waitMs / 1000))),
    });
  }
}

export function createApp(o: AppOptions): express.Express {
  const routes = o.routes ?? ROUTES;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  const requestId = (req: Request, res: Response): string => {
    const given = req.headers['x-request-id'];
    const id = typeof given === 'string' && /^[\w.:-]{1,64}$/.test(given) ? given : randomUUID();
    res.setHeader('X-Request-Id', id);
    return id;
  };
  // Metrics are recorded where each answer is sent (no per-request 'finish' listener), from the
  // time stamped here.
  const stamp = (res: Response) => {
    res.locals.start = process.hrtime.bigint();
  };
  if (o.log.isLevelEnabled('info')) {
    app.use(
      pinoHttp({
        logger: o.log,
        genReqId: requestId,
        redact: [
          'req.headers.authorization',
          'req.headers.cookie',
          'req.headers["idempotency-key"]',
        ],
        customLogLevel: (_req, res, err) =>
          err !== undefined || res.statusCode >= 500 ? 'error' : 'info',
      }),
    );
    app.use((_req, res, next) => {
      stamp(res);
      next();
    });
  } else {
    // Request logs are off at this level: skip pino-http's per-request work (about an eighth of
    // the gateway's CPU under load), keep the request id; one middleware for both (each layer
    // the router passes through costs every request).
    app.use((req, res, next) => {
      req.id = requestId(req, res);
      stamp(res);
      next();
    });
  }
  const observe = (req: Request, res: Response) => {
    const route = (res.locals.route as string | undefined) ?? 'unmatched';
    const start = res.locals.start as bigint;
    o.metrics.observe(
      req.method,
      route,
      res.statusCode,
      Number(process.hrtime.bigint() - start) / 1e9,
    );
  };

  app.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', o.metrics.registry.contentType);
    res.send(await o.metrics.registry.metrics());
  });

  const doc = openApiDocument(routes);
  const docJson = JSON.stringify(doc);
  const docs = docsPage(doc);
  app.get('/api/v1/openapi.json', (req, res) => {
    res.locals.route = '/openapi.json';
    res.type('application/json').send(docJson);
    observe(req, res);
  });
  app.get(['/api/v1/docs', '/docs'], (req, res) => {
    res.locals.route = '/docs';
    res.type('html').send(docs);
    observe(req, res);
  });

  const json = jsonBody(MAX_BODY_BYTES);

  for (const r of routes) {
    const status = r.status ?? 200;
    // Only routes that take a body parse one.
    const parse = r.body === undefined ? [] : [json];
    app[r.method](`/api/v1${r.path}`, ...parse, async (req: Request, res: Response) => {
      res.locals.route = r.path;
      let userId = '';
      if (r.auth) {
        const [id, keyHash] = await o.auth.authenticate(req.get('authorization'), () =>
          clientIp(req),
        );
        userId = id;
        await limit(o.limiter, `key:${keyHash}`, o.perKey, 'for this API key');
      } else if (r.path === '/user/new') {
        await limit(o.limiter, `ip:${clientIp(req)}`, o.newUserPerIp, 'from this address');
      }
      const query = validate(r.query, req.query, 'query');
      const body = validate(r.body, req.body, 'body');
      const answer = await r.handle({ query, body, userId, backends: o.backends, req, res });
      sendJson(res, status, answer);
      observe(req, res);
    });
  }

  app.use((req, _res, next) => {
    next(new ApiError(404, 'NOT_FOUND', `no route ${req.method} ${req.path}`));
  });

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = toApiError(err);
    if (e.status >= 500 && !isServiceError(err)) {
      o.log.error({ err, reqId: req.id }, 'unexpected error');
    }
    for (const [k, v] of Object.entries(e.headers)) res.setHeader(k, v);
    sendJson(res, e.status, errorBody(e.code, e.message));
    observe(req, res);
  });

  return app;
}

/**
 * Answers with `value` as JSON. What Express's `res.status().json()` does for our answers (no
 * ETag, no JSONP, no replacer), without its content-type lookups and header juggling: about 4%
 * of the gateway's CPU per order.
 */
function sendJson(res: Response, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

/** Every failure as the client will see it. */
function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (isServiceError(err)) return fromServiceError(err);
  const type = (err as { type?: unknown } | null)?.type;
  switch (type) {
    case 'entity.parse.failed':
      return new ApiError(400, 'MALFORMED_JSON', 'the body is not valid JSON');
    case 'entity.too.large':
      return new ApiError(413, 'PAYLOAD_TOO_LARGE', `the body is larger than ${MAX_BODY}`);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the body as UTF-8 JSON');
    case 'request.aborted':
    case 'request.size.invalid':
      return new ApiError(400, 'INVALID_REQUEST', 'the body was cut short');
    default:
      break;
  }
  const status = (err as { status?: unknown } | null)?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new ApiError(status, 'INVALID_REQUEST', 'the request could not be read');
  }
  return new ApiError(500, 'INTERNAL', 'internal error');
}
