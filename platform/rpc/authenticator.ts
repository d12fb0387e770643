/**
 * Finds out who sent a network request:
 *
 *  1. `orbit-identity` (a call from another bundle process): must verify
 *     against the cluster secret, else Unauthenticated;
 *  2. `authorization: Bearer <token>`: the TokenVerifier must accept it,
 *     else Unauthenticated; any other authorization scheme is refused;
 *  3. neither: an anonymous call (handlers that need a user call
 *     requireUser(ctx)).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { IDENTITY_HEADER, type ClusterSigner } from "./cluster-signer.js";
import { parseBearer } from "./bearer.js";
import type { Identity, TokenVerifier } from "./identity.js";

export class Authenticator {
  constructor(
    /** Checks bearer tokens (the bundle picks it once, before it serves: kernel/tokens.ts). */
    readonly verifier: TokenVerifier,
    readonly signer: ClusterSigner,
  ) {}

  /**
   * The caller's identity; synchronous unless a bearer token must be
   * verified. `call.signal` is read only then.
   */
  authenticate(
    header: (name: string) => string | null,
    procedure: string,
    call: { readonly signal: AbortSignal },
  ): Identity | undefined | Promise<Identity | undefined> {
    const signed = header(IDENTITY_HEADER);
    if (signed !== null) return this.signer.verify(signed, procedure);
    const authorization = header("authorization");
    if (authorization === null) return undefined;
    const token = parseBearer(authorization);
    if (token === undefined) {
      throw new ConnectError('the authorization header must be "Bearer <token>"', Code.Unauthenticated);
    }
    return this.verifyToken(token, call.signal);
  }

  /** The identity a bearer token stands for; Unauthenticated if the verifier does not know it. */
  async verifyToken(token: string, signal: AbortSignal): Promise<Identity> {
    const identity = await this.verifier.verify(token, signal);
    if (!identity) throw new ConnectError("invalid or expired token", Code.Unauthenticated);
    return identity;
  }
}
