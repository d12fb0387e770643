/**
 * The address of the client a request comes from, for rate limits and logs.
 *
 * Without a proxy (trustedHops 0, the default) it is the socket's peer
 * address and `X-Forwarded-For` is ignored: any client can write that header,
 * so trusting it would let one client pose as any number of addresses.
 * Behind N proxies that each append the address they saw (nginx
 * `proxy_add_x_forwarded_for`, HAProxy `option forwardfor`, cloud load
 * balancers), trustedHops N takes the Nth entry from the right of
 * `X-Forwarded-For` + the socket address: the address the outermost trusted
 * proxy saw. Entries further left were written by the client and are not used.
 *
 * The kernel stores the result in the request header CLIENT_ADDRESS_HEADER
 * (overwriting whatever the client sent under that name), where handlers read
 * it with `requestHeader.get(CLIENT_ADDRESS_HEADER)`.
 */
import type { NodeServerRequest } from "./types.js";

export const CLIENT_ADDRESS_HEADER = "orbit-client-address";

/** The most proxies a deployment may declare (`--trust-proxy`). */
export const MAX_TRUSTED_HOPS = 10;

/** "::ffff:10.0.0.1" → "10.0.0.1"; brackets and ports of "[::1]:80" / "1.2.3.4:80" removed. */
export function normalizeAddress(raw: string): string {
  let a = raw.trim();
  if (a.startsWith("[")) a = a.slice(1, a.indexOf("]") > 0 ? a.indexOf("]") : undefined);
  else if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(a)) a = a.slice(0, a.lastIndexOf(":"));
  if (a.toLowerCase().startsWith("::ffff:") && a.includes(".")) a = a.slice(7);
  return a.toLowerCase();
}

/**
 * The client's address given the socket's peer address and the
 * X-Forwarded-For header(s), trusting `trustedHops` proxies. Undefined when
 * nothing is known (a closed socket).
 */
export function resolveClientAddress(
  socketAddress: string | undefined,
  forwardedFor: string | string[] | undefined,
  trustedHops: number,
): string | undefined {
  const chain: string[] = [];
  if (trustedHops > 0 && forwardedFor !== undefined) {
    for (const h of Array.isArray(forwardedFor) ? forwardedFor : [forwardedFor]) {
      for (const part of h.split(",")) {
        const a = part.trim();
        if (a) chain.push(a);
      }
    }
  }
  if (socketAddress) chain.push(socketAddress);
  if (chain.length === 0) return undefined;
  const pick = chain[Math.max(0, chain.length - 1 - trustedHops)]!;
  const address = normalizeAddress(pick);
  return address === "" || address.length > 64 ? undefined : address;
}

/** Sets CLIENT_ADDRESS_HEADER on the request (removing a client-sent one) from its socket and proxies. */
export function stampClientAddress(req: NodeServerRequest, trustedHops: number): void {
  const headers = req.headers as Record<string, string | string[] | undefined>;
  const address = resolveClientAddress(req.socket?.remoteAddress, headers["x-forwarded-for"], trustedHops);
  if (address === undefined) delete headers[CLIENT_ADDRESS_HEADER];
  else headers[CLIENT_ADDRESS_HEADER] = address;
}
