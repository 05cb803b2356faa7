/** Misuse of a path manager: a bad endpoint list or limit, a helper called on the wrong connection. */
export class PathManagerError extends Error {
  override name = 'PathManagerError';
}
