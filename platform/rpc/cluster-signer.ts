/**
 * The identity header between bundle processes:
 *
 *   orbit-identity: v1.<base64url JSON {u: userId, s?: sessionId, p: procedure, x: expiry ms}>.<base64url HMAC-SHA256>
 *
 * signed with the cluster secret that all bundles of a deployment share.
 * The signature covers the procedure (`/pkg.Service/Method`) and an expiry a
 * minute ahead, so a captured header works only for that method, briefly.
 * A header that does not verify fails the call with Unauthenticated: an
 * outside client cannot claim to be someone by sending it.
 *
 * A call a service makes for nobody (an event consumer, the remote token
 * check) is signed too, with an empty user id, when the secret is shared
 * (configured): the callee then knows a service of the deployment called
 * (CallScope.fromService) even though no user did.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Identity } from "./identity.js";

export const IDENTITY_HEADER = "orbit-identity";

export interface ClusterSignerOptions {
  /** How long a signed header stays valid. Default 60 s. */
  readonly ttlMs?: number;
  /** Tolerated clock difference between hosts. Default 30 s. */
  readonly skewMs?: number;
  readonly now?: () => number;
}

interface Payload {
  readonly u: string;
  readonly s?: string;
  readonly p: string;
  readonly x: number;
}

export class ClusterSigner {
  private readonly key: Buffer;
  /** False for a random secret (no peer can share it): anonymous calls are then not signed. */
  readonly shared: boolean;
  private readonly ttlMs: number;
  private readonly skewMs: number;
  private readonly now: () => number;

  constructor(secret: string | Buffer, opts: ClusterSignerOptions = {}, shared = true) {
    this.key = typeof secret === "string" ? Buffer.from(secret, "utf8") : secret;
    this.shared = shared;
    if (this.key.length < 16) throw new RangeError("the cluster secret must be at least 16 bytes");
    this.ttlMs = opts.ttlMs ?? 60_000;
    this.skewMs = opts.skewMs ?? 30_000;
    this.now = opts.now ?? Date.now;
  }

  /** A signer with a random secret, for a bundle that has no peers. */
  static random(): ClusterSigner {
    return new ClusterSigner(randomBytes(32), {}, false);
  }

  /** Signs a call for `identity`, or for no user (a service acting on its own). */
  sign(identity: Identity | undefined, procedure: string): string {
    const payload: Payload =
      identity?.sessionId === undefined
        ? { u: identity?.userId ?? "", p: procedure, x: this.now() + this.ttlMs }
        : { u: identity.userId, s: identity.sessionId, p: procedure, x: this.now() + this.ttlMs };
    const body = Buffer.from(JSON.stringify(payload)).toString("base64url");
    return `v1.${body}.${this.mac(body)}`;
  }

  /** The identity in a header value (undefined: no user); throws Unauthenticated if it does not verify. */
  verify(value: string, procedure: string): Identity | undefined {
    const parts = value.split(".");
    if (parts.length !== 3 || parts[0] !== "v1") {
      throw unauthenticated("malformed orbit-identity header");
    }
    const [, body, mac] = parts as [string, string, string];
    const expected = Buffer.from(this.mac(body), "base64url");
    const given = Buffer.from(mac, "base64url");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw unauthenticated("orbit-identity header has a bad signature (do all bundles share ORBIT_CLUSTER_SECRET?)");
    }
    let payload: Payload;
    try {
      payload = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as Payload;
    } catch {
      throw unauthenticated("malformed orbit-identity header");
    }
    if (
      typeof payload.u !== "string" ||
      typeof payload.p !== "string" ||
      typeof payload.x !== "number" ||
      (payload.s !== undefined && typeof payload.s !== "string")
    ) {
      throw unauthenticated("malformed orbit-identity header");
    }
    if (payload.p !== procedure) throw unauthenticated("orbit-identity header was signed for another method");
    const now = this.now();
    if (payload.x < now - this.skewMs) throw unauthenticated("orbit-identity header has expired");
    if (payload.x > now + this.ttlMs + this.skewMs) throw unauthenticated("orbit-identity header expires too late");
    if (payload.u === "") return undefined;
    return payload.s === undefined ? { userId: payload.u } : { userId: payload.u, sessionId: payload.s };
  }

  private mac(body: string): string {
    return createHmac("sha256", this.key).update("orbit-identity.v1.").update(body).digest("base64url");
  }
}

function unauthenticated(message: string): ConnectError {
  return new ConnectError(message, Code.Unauthenticated);
}
