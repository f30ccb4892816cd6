import WebSocket from 'ws';
import { textFrame } from '../../gateway/ws-frame';

/** The ws library's own framing (exported at run time, not in its type declarations). */
const { Sender } = WebSocket as unknown as {
  Sender: { frame(data: Buffer, options: Record<string, unknown>): Buffer[] };
};
describe('textFrame', () => {
  it.each([0, 1, 125, 126, 65_535, 65_536, 200_000])(
    'encodes a %i-byte payload exactly as the ws library does',
    (size) => {
      const payload = Buffer.alloc(size, 'a');
      const theirs = Buffer.concat(
        Sender.frame(payload, {
          fin: true,
          opcode: 1,
          mask: false,
          readOnly: true,
          rsv1: false,
        }),
      );
      expect(textFrame(payload.toString()).equals(theirs)).toBe(true);
    },
  );
});
