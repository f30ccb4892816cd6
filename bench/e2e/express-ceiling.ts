/**
 * The ceiling for REST order entry: a bare Express app with one POST route that parses a JSON
 * body and answers 201 with a small JSON object, nothing else (no auth, limits, validation,
 * logging or backend). The e2e bench runs it as a child process, like the gateway, and prints
 * `{"msg":"listening","port":N}` when it is ready.
 *
 * By default it is served as Express serves an app (`app.listen`): the ceiling of the issue's
 * target. With CEILING_SERVER=built it is served by the HTTP server the gateway uses
 * (`gateway/http-server.ts`: requests built on Express's prototypes), a second reference.
 */
import { createServer } from 'node:http';
import express from 'express';
import { expressServer } from '../../gateway/http-server';

const app = express();
app.use(express.json({ limit: '64kb' }));
let orders = 0;
app.post('/api/v1/order', (req, res) => {
  const body = req.body as { market?: unknown; side?: unknown };
  orders++;
  res.status(201).json({ orderId: String(orders), market: body.market, side: body.side });
});
// What `app.listen` does, or the gateway's server.
const server = process.env.CEILING_SERVER === 'built' ? expressServer(app) : createServer(app);
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  console.log(JSON.stringify({ msg: 'listening', port }));
});
// As the gateway's: with Node's default (5 s) the server closed keep-alive connections the paced
// client's pool had left idle, and a request racing the close failed with ECONNRESET (24-44 of
// the paced run's requests, now and then).
server.keepAliveTimeout = 65_000;
process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
