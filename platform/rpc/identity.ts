/**
 * Who is calling. The RPC layer turns `authorization: Bearer <token>` into an
 * Identity through a TokenVerifier, and carries it with every call the
 * handler makes to other services (in-process, or signed with the cluster
 * secret between bundles).
 *
 * The verifier is a capability one service of the registry provides (the
 * user service's `verifiesTokens`: its sessions when it runs in the bundle,
 * its VerifyToken RPC when it runs in another); platform/kernel/tokens.ts
 * picks it once per bundle.
 * A bundle without it uses `rejectAllTokens` (every bearer token is refused
 * with Unauthenticated; calls without a token are anonymous), or
 * `staticTokens` when `--dev-token token=userId` is configured for
 * development and tests.
 */
export interface Identity {
  /** The signed-in user (a decimal 64-bit id, as text). */
  readonly userId: string;
  /**
   * The session the bearer token belongs to (a decimal 64-bit id, as text),
   * when the verifier knows sessions: LogOut ends it without looking the
   * token up again. Travels with the identity to other services.
   */
  readonly sessionId?: string;
}

export interface TokenVerifier {
  /**
   * Returns the identity a bearer token stands for, or undefined if the
   * token is unknown, expired or revoked (the call fails with
   * Unauthenticated). Throwing a ConnectError passes that error on.
   */
  verify(token: string, signal: AbortSignal): Promise<Identity | undefined>;
  /**
   * Forgets a session that ended (in any process: its verifying service's
   * `revocations` event, platform/kernel/tokens.ts), so a cached verification
   * of its token is not used again. Verifiers without a cache have none.
   */
  forgetSession?(sessionId: string): void;
}

/** For a bundle that neither runs nor reaches the user service: no token is valid. */
export const rejectAllTokens: TokenVerifier = {
  async verify() {
    return undefined;
  },
};

/** Accepts a fixed set of tokens (token → user id). Development and tests only. */
export function staticTokens(tokens: Readonly<Record<string, string>>): TokenVerifier {
  const map = new Map(Object.entries(tokens));
  return {
    async verify(token) {
      const userId = map.get(token);
      return userId === undefined ? undefined : { userId };
    },
  };
}
