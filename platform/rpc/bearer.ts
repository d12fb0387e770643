/**
 * The one parser of bearer credentials (RFC 6750 `b64token`), for the
 * `authorization` header of RPCs, HTTP routes and WebSocket upgrades, and
 * for the first frame of a WebSocket whose client cannot set headers.
 */
const BEARER = /^Bearer[ \t]+([A-Za-z0-9\-._~+/]+=*)[ \t]*$/i;

/** The token of `Bearer <token>`, or undefined when `value` is not of that form. */
export function parseBearer(value: string): string | undefined {
  return BEARER.exec(value)?.[1];
}
