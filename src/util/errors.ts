/** Base class of every error dpemu throws on purpose: a stable `code` for scripts, a message for people. */
export class DpemuError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}
