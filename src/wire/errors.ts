/** Why a byte sequence could not be decoded. `code` is stable (for counters); `message` says what was wrong. */
export class DecodeError {
  constructor(
    readonly code: string,
    readonly message: string,
  ) {}

  toString(): string {
    return `${this.code}: ${this.message}`;
  }
}

export const isDecodeError = (x: unknown): x is DecodeError => x instanceof DecodeError;
