/**
 * JSON request bodies: what `express.json({ strict: true, type: 'application/json' })` does, with
 * a short path for the request every order is: `Content-Type: application/json` (UTF-8 or no
 * charset), no `Content-Encoding`, a `Content-Length` within the limit. Those are read and parsed
 * here; every other request goes to express.json as before (other charsets, compressed or
 * chunked bodies, lengths over the limit), so its answers and errors are unchanged.
 *
 * body-parser's general path (content-type and charset parsing, iconv decoding, raw-body's stream
 * handling) was about a tenth of what the gateway allocated per order.
 */
import express, { type NextFunction, type Request, type Response } from 'express';

/** An error shaped as body-parser's (the app maps its `type` to an answer). */
function bodyError(message: string, status: number, type: string): Error {
  return Object.assign(new Error(message), { status, statusCode: status, type, expose: true });
}

/**
 * `application/json`, alone or with `charset=utf-8` (any case; spaces and tabs where the header's
 * grammar allows them, and nothing else: `\s` would also take a non-breaking space, which
 * body-parser does not).
 */
const PLAIN_JSON = /^application\/json[ \t]*(?:;[ \t]*charset[ \t]*=[ \t]*"?utf-8"?[ \t]*)?$/i;

type Middleware = (req: Request, res: Response, next: NextFunction) => void;

/** `general` reads what the short path does not (express.json with the same limit by default). */
export function jsonBody(
  limitBytes: number,
  general: Middleware = express.json({ limit: limitBytes, strict: true, type: 'application/json' }),
): Middleware {
  return (req: Request, res: Response, next: NextFunction): void => {
    const headers = req.headers;
    const type = headers['content-type'];
    const length = headers['content-length'];
    if (
      type === undefined ||
      length === undefined ||
      headers['content-encoding'] !== undefined ||
      headers['transfer-encoding'] !== undefined ||
      !(Number(length) <= limitBytes) ||
      !PLAIN_JSON.test(type)
    ) {
      general(req, res, next);
      return;
    }
    // Node's HTTP parser holds the body to its Content-Length: no size check is needed here.
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (err: Error | null, body?: unknown) => {
      if (settled) return;
      settled = true;
      req.removeListener('data', onData);
      req.removeListener('end', onEnd);
      req.removeListener('error', onAbort);
      req.removeListener('close', onAbort);
      if (err !== null) {
        // Drain whatever is left so that the answer can go out on a keep-alive connection.
        req.resume();
        next(err);
        return;
      }
      req.body = body;
      next();
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
    };
    const onEnd = () => {
      const text =
        chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = parseStrict(text);
      } catch (err) {
        finish(err as Error);
        return;
      }
      finish(null, body);
    };
    // An error, or the connection closing before the end: the client went away.
    const onAbort = () => finish(bodyError('request aborted', 400, 'request.aborted'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onAbort);
    req.on('close', onAbort);
  };
}

/** body-parser's strict JSON: an empty body is {}, anything but an object or array is refused. */
function parseStrict(decoded: string): unknown {
  // A byte order mark is dropped, as body-parser's decoder does.
  const text = decoded.charCodeAt(0) === 0xfeff ? decoded.slice(1) : decoded;
  if (text.length === 0) return {};
  const first = /^[ \t\n\r]*(.)/s.exec(text)?.[1];
  if (first !== '{' && first !== '[') {
    throw bodyError('the body is not a JSON object or array', 400, 'entity.parse.failed');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw bodyError('the body is not valid JSON', 400, 'entity.parse.failed');
  }
}
