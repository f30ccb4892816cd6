/**
 * Market-data fan-out through the gateway: many WebSocket clients, each subscribed to the same
 * streams, count every update they receive (each object of a frame's `data` array) and the
 * delay from each trade's `ts` (the engine's clock, ms) to its arrival (Date.now() on receipt).
 */
import WebSocket, { type RawData } from 'ws';
import { MsHistogram } from '../support/latency';

interface Frame {
  readonly stream?: string;
  readonly data?: readonly { ts?: number }[];
  readonly id?: unknown;
  readonly error?: unknown;
}

export interface FanoutClients {
  readonly size: number;
  /** Clients that have received at least one market-data frame. */
  readonly reached: number;
  /** Sockets that closed (e.g. cut off as too slow) since the last reset. */
  readonly closed: number;
  readonly deliveries: number;
  readonly frames: number;
  readonly tradeLatency: MsHistogram;
  /** Starts a measurement window: zeroes the counters and the histogram. */
  reset(): void;
  close(): void;
}

const SUBSCRIBE_ID = 1;

/**
 * Every client gets the same frame bytes, so the harness parses each distinct frame once and
 * shares the result (matched by a byte comparison with the last few frames): 1,000 simulated
 * clients on one core of a 2-core machine would otherwise spend more CPU re-parsing identical
 * JSON than the gateway spends sending it, and the delay would be the harness's. Each client
 * still timestamps its own receipt before anything else.
 */
class FrameParser {
  private readonly raws: Buffer[] = [];
  private readonly frames: Frame[] = [];
  private next = 0;

  parse(raw: Buffer): Frame {
    for (let i = 0; i < this.raws.length; i++) {
      if (this.raws[i].equals(raw)) return this.frames[i];
    }
    const frame = JSON.parse(raw.toString()) as Frame;
    this.raws[this.next] = raw;
    this.frames[this.next] = frame;
    this.next = (this.next + 1) % 4;
    return frame;
  }
}

export async function openFanoutClients(
  wsUrl: string,
  streams: readonly string[],
  n: number,
  batch: number,
): Promise<FanoutClients> {
  const sockets: WebSocket[] = [];
  const reachedBy = new Uint8Array(n);
  let reached = 0;
  let closed = 0;
  let deliveries = 0;
  let frames = 0;
  const tradeLatency = new MsHistogram();
  const parser = new FrameParser();

  const connect = (index: number) =>
    new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(wsUrl, { perMessageDeflate: false, skipUTF8Validation: true });
      sockets.push(ws);
      const timer = setTimeout(() => reject(new Error(`client ${index}: no subscription`)), 15_000);
      ws.once('open', () =>
        ws.send(JSON.stringify({ method: 'SUBSCRIBE', params: streams, id: SUBSCRIBE_ID })),
      );
      ws.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      ws.on('close', () => closed++);
      ws.on('message', (raw: RawData) => {
        const now = Date.now();
        const frame = parser.parse(raw as Buffer);
        if (frame.stream === undefined) {
          if (frame.id !== SUBSCRIBE_ID) return;
          clearTimeout(timer);
          if (frame.error !== undefined) reject(new Error(JSON.stringify(frame.error)));
          else resolve();
          return;
        }
        const data = frame.data ?? [];
        frames++;
        deliveries += data.length;
        if (reachedBy[index] === 0) {
          reachedBy[index] = 1;
          reached++;
        }
        if (frame.stream.startsWith('trade@')) {
          for (const t of data) if (t.ts !== undefined) tradeLatency.add(now - t.ts);
        }
      });
    });

  try {
    for (let first = 0; first < n; first += batch) {
      const last = Math.min(n, first + batch);
      await Promise.all(Array.from({ length: last - first }, (_, i) => connect(first + i)));
    }
  } catch (err) {
    for (const ws of sockets) ws.terminate();
    throw err;
  }
  return {
    size: n,
    get reached() {
      return reached;
    },
    get closed() {
      return closed;
    },
    get deliveries() {
      return deliveries;
    },
    get frames() {
      return frames;
    },
    tradeLatency,
    reset() {
      closed = 0;
      deliveries = 0;
      frames = 0;
      tradeLatency.reset();
    },
    close() {
      for (const ws of sockets) ws.terminate();
    },
  };
}
