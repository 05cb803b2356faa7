/** Errors of the socket API: misuse (a typed error saying what to do) and connection failures (net-like codes). */

/** The API was used in a way that cannot work (bad option, call in the wrong state). */
export class MptcpApiError extends Error {
  override name = 'MptcpApiError';
}

/** A connection failed; `code` is the errno-style name net.Socket would give (ECONNREFUSED, ETIMEDOUT, ...). */
export class MptcpSocketError extends Error {
  override name = 'MptcpSocketError';
  constructor(
    message: string,
    readonly code: string,
    /** The engine's reason text. */
    readonly reason: string,
  ) {
    super(message);
  }
}

/** The net-style error for an engine close reason (null is a clean close: no error). */
export function errorForReason(reason: string, remote: string): MptcpSocketError {
  const code =
    reason === 'refused'
      ? 'ECONNREFUSED'
      : reason === 'timeout' || reason === 'user timeout'
        ? 'ETIMEDOUT'
        : reason === 'reset' || reason === 'MP_FASTCLOSE'
          ? 'ECONNRESET'
          : 'ECONNABORTED';
  const what: Record<string, string> = {
    ECONNREFUSED: 'connection refused by',
    ETIMEDOUT: 'connection timed out to',
    ECONNRESET: 'connection reset by',
    ECONNABORTED: 'connection aborted with',
  };
  return new MptcpSocketError(`${code}: ${what[code]} ${remote} (${reason})`, code, reason);
}
