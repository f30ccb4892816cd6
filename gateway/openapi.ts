/**
 * openapi.json, generated from the route table and the same zod schemas that validate requests
 * (OpenAPI 3.1, whose schemas are JSON Schema 2020-12). Named schemas (`.meta({ id })`) become
 * components; every operation lists the error answers it can give.
 */
import { z } from 'zod';
import type { Route } from './route';
import { ErrorSchema } from './schemas';

type Json = Record<string, unknown>;

const ERROR_STATUSES: Record<string, string> = {
  '400': 'Invalid request (shape, or a market rule of the engine); `error.code` says which',
  '401': 'Missing or unknown API key',
  '404': 'Not found (including any order of another user)',
  '409': 'Conflict (duplicate clientOrderId, idempotency key reused)',
  '413': 'Body too large',
  '429': 'Rate limited; see Retry-After',
  '503':
    'A backend service is unavailable. With the code APPLY_TIMEOUT, JOURNAL_WRITE_FAILED or ' +
    'ORDER_STREAM_FAILED the request may still have been applied; with UNAVAILABLE it usually was ' +
    'not',
  '504': 'A backend service did not answer in time; the request may still have been applied',
};

/** Converts a schema, moving its named definitions into `components`. */
function schemaOf(schema: z.ZodType, io: 'input' | 'output', components: Json): Json {
  const json = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
    reused: 'inline',
  }) as Json;
  const defs = (json.$defs ?? {}) as Json;
  delete json.$defs;
  delete json.$schema;
  for (const [name, def] of Object.entries(defs)) components[name] = def;
  // A named root schema comes back as its own definition: refer to the component instead.
  const id = (json as { id?: string }).id;
  if (typeof id === 'string') {
    delete json.id;
    components[id] = json;
    return { $ref: `#/components/schemas/${id}` };
  }
  return JSON.parse(JSON.stringify(json).replaceAll('"#/$defs/', '"#/components/schemas/')) as Json;
}

function operation(r: Route, components: Json): Json {
  const op: Json = {
    operationId: `${r.method}${r.path.replace(/\/(\w)/g, (_, c: string) => c.toUpperCase())}`,
    summary: r.summary,
    tags: [r.tag],
  };
  if (r.description !== undefined) op.description = r.description;
  const parameters: Json[] = [];
  if (r.query !== undefined) {
    const q = schemaOf(r.query, 'input', components) as {
      properties?: Record<string, Json>;
      required?: string[];
    };
    for (const [name, schema] of Object.entries(q.properties ?? {})) {
      parameters.push({
        name,
        in: 'query',
        required: q.required?.includes(name) ?? false,
        schema,
      });
    }
  }
  for (const h of r.headers ?? []) {
    parameters.push({
      name: h.name,
      in: 'header',
      required: false,
      description: h.description,
      schema: { type: 'string' },
    });
  }
  if (parameters.length > 0) op.parameters = parameters;
  if (r.body !== undefined) {
    op.requestBody = {
      required: !r.body.safeParse(undefined).success,
      content: { 'application/json': { schema: schemaOf(r.body, 'input', components) } },
    };
  }
  const errorContent = { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } };
  const responses: Json = {
    [String(r.status ?? 200)]: {
      description: 'Success',
      content: { 'application/json': { schema: schemaOf(r.response, 'output', components) } },
    },
  };
  for (const [code, description] of Object.entries(ERROR_STATUSES)) {
    if (code === '401' && !r.auth) continue;
    if (code === '413' && r.body === undefined) continue;
    responses[code] = { description, content: errorContent };
  }
  op.responses = responses;
  if (r.auth) op.security = [{ apiKey: [] }];
  return op;
}

export function openApiDocument(routes: readonly Route[]): Json {
  const components: Json = {};
  schemaOf(ErrorSchema, 'output', components);
  const paths: Record<string, Json> = {};
  for (const r of routes) {
    paths[`/api/v1${r.path}`] ??= {};
    paths[`/api/v1${r.path}`][r.method] = operation(r, components);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Exchange REST API',
      version: '1',
      description:
        'Spot exchange. Decimals are strings ("101.25"), times are Unix milliseconds, ids are ' +
        'strings. Errors are `{"error": {"code", "message"}}`. Private routes take ' +
        '`Authorization: Bearer <apiKey>` from POST /api/v1/user/new.',
    },
    paths,
    components: {
      schemas: components,
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'API key' } },
    },
  };
}

/** A small self-contained page listing every operation of the document (no external assets). */
export function docsPage(doc: Json): string {
  const esc = (s: string) =>
    s.replace(
      /[&<>"]/g,
      (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c,
    );
  const rows: string[] = [];
  for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, Json>>)) {
    for (const [method, op] of Object.entries(ops)) {
      const params = ((op.parameters ?? []) as { name: string; in: string; required: boolean }[])
        .map((p) => `${esc(p.name)}${p.required ? '' : '?'} <small>(${p.in})</small>`)
        .join(', ');
      rows.push(
        `<tr><td><b>${method.toUpperCase()}</b></td><td><code>${esc(path)}</code></td>` +
          `<td>${op.security === undefined ? '' : '&#128274;'}</td>` +
          `<td>${esc(String(op.summary))}<br><small>${esc(String(op.description ?? ''))}</small></td>` +
          `<td>${params}</td></tr>`,
      );
    }
  }
  return `<!doctype html><html><head><meta charset="utf-8"><title>Exchange API</title>
<style>body{font-family:system-ui,sans-serif;margin:2em}td{border-top:1px solid #ddd;padding:.4em;vertical-align:top}</style>
</head><body><h1>Exchange REST API v1</h1>
<p>${esc(String((doc.info as Json).description))}</p>
<p>Machine-readable: <a href="/api/v1/openapi.json">openapi.json</a> (OpenAPI 3.1). &#128274; = needs an API key.</p>
<table><tr><th></th><th>Path</th><th></th><th>What</th><th>Parameters</th></tr>${rows.join('\n')}</table>
</body></html>`;
}
