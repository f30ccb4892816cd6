/** A command line the CLI cannot run; it exits 2 and shows how the command is written. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    /** The usage line of the command in question; absent for an unknown command. */
    readonly usage?: string,
  ) {
    super(message);
  }
}
