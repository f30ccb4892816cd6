/**
 * A captured snapshot as JSON text without stopping the matching loop for the whole of it.
 *
 * `captureSnapshot` takes the state at once except the open orders, of which it takes only the
 * list (that part must be synchronous, or it would not be one state); the orders, nearly all of
 * the snapshot's size, are copied and turned into text a chunk per turn of the event loop while
 * the loop goes on matching (the core has the capture copy an order before changing it). With
 * 135,000 resting orders the whole snapshot made at once (`toSnapshot`) stopped the loop for
 * ~60 ms and its one JSON.stringify for ~150 ms more; the capture of 100,000 takes 2-5 ms and no
 * chunk of 1,000 orders takes more than a millisecond or two. The text is exactly what
 * JSON.stringify of the whole snapshot gives.
 */
import { capturedOrders, type SnapshotCapture } from './core';

const ORDERS_PER_CHUNK = 1000;
/** Stands in for the orders in the text of the rest (a NUL cannot occur in any other string). */
const MARK = '\u0000orders\u0000';

export async function snapshotText(capture: SnapshotCapture): Promise<string> {
  // The same keys in the same order as toSnapshot's object.
  const rest = JSON.stringify({ ...capture.rest, orders: MARK });
  const mark = JSON.stringify(MARK);
  const at = rest.indexOf(mark);
  const parts: string[] = [rest.slice(0, at), '['];
  for (let i = 0; i < capture.orderCount; i += ORDERS_PER_CHUNK) {
    if (i > 0) {
      parts.push(',');
      await new Promise((resolve) => setImmediate(resolve));
    }
    parts.push(JSON.stringify(capturedOrders(capture, i, i + ORDERS_PER_CHUNK)).slice(1, -1));
  }
  parts.push(']', rest.slice(at + mark.length));
  return parts.join('');
}
