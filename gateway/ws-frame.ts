/**
 * One WebSocket text frame (RFC 6455 §5.2) as bytes: FIN, opcode 1, unmasked (server to client),
 * no extensions. The bridge builds it once per message and writes the same bytes to every
 * subscriber's socket, instead of framing the message again for each client.
 */
export function textFrame(text: string): Buffer {
  const n = Buffer.byteLength(text);
  const headerLength = n < 126 ? 2 : n < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + n);
  frame[0] = 0x81;
  if (n < 126) {
    frame[1] = n;
  } else if (n < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(n, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(n), 2);
  }
  frame.write(text, headerLength);
  return frame;
}
