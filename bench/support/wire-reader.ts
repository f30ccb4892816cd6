/**
 * A cursor over encoded protobuf bytes, for the bench clients that read a few fields of a reply
 * without decoding it. Throws, naming the message, when the bytes end early.
 */
export class WireReader {
  pos = 0;

  constructor(
    readonly bytes: Uint8Array,
    private readonly message: string,
  ) {}

  get done(): boolean {
    return this.pos >= this.bytes.length;
  }

  /** The byte at the cursor, not consumed (undefined at the end). */
  peek(): number | undefined {
    return this.bytes[this.pos];
  }

  /** A varint (field keys and lengths: below 2^53). */
  varint(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (this.pos >= this.bytes.length) throw new Error(`truncated ${this.message}`);
      const byte = this.bytes[this.pos++];
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
    }
  }

  /** A length-delimited field's length; the cursor stays at its start. */
  length(): number {
    const length = this.varint();
    if (this.pos + length > this.bytes.length) throw new Error(`truncated ${this.message}`);
    return length;
  }
}
