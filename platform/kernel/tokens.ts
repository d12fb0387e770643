/**
 * Which bearer-token check a bundle uses, chosen once before it serves (the
 * Authenticator is built with it and never changes). First that applies:
 *
 *   1. the one the bundle was given (BundleOptions.tokenVerifier: tests);
 *   2. the service that verifies tokens (`verifiesTokens`), if it runs here: its local check;
 *   3. `--dev-token token=userId` entries (development and tests only);
 *   4. that service's remote check, if it runs elsewhere (`--peer`);
 *   5. none: every bearer token is refused (calls without one are anonymous).
 */
import { rejectAllTokens, staticTokens, type TokenVerifier } from "../rpc/identity.js";
import type { ServiceContext } from "./context.js";
import type { Registry } from "./registry.js";
import type { ClientOf, ServiceDef } from "./service.js";

export interface TokenChoice {
  readonly verifier: TokenVerifier;
  /** For the boot log: "given", "user (local)", "dev tokens", "user (remote)", "none". */
  readonly source: string;
}

export function chooseTokenVerifier(opts: {
  readonly given: TokenVerifier | undefined;
  readonly registry: Registry;
  readonly local: ReadonlyMap<ServiceDef, ServiceContext>;
  readonly remote: ReadonlyMap<string, string>;
  readonly devTokens: Readonly<Record<string, string>>;
  readonly client: ClientOf;
}): TokenChoice {
  if (opts.given) return { verifier: opts.given, source: "given" };
  const provider = opts.registry.tokenProvider();
  if (provider) {
    const ctx = [...opts.local].find(([def]) => def === provider)?.[1];
    if (ctx) return { verifier: provider.verifiesTokens!.local(ctx), source: `${provider.name} (local)` };
  }
  if (Object.keys(opts.devTokens).length) return { verifier: staticTokens(opts.devTokens), source: "dev tokens" };
  if (provider && opts.remote.has(provider.name)) {
    return { verifier: provider.verifiesTokens!.remote(opts.client), source: `${provider.name} (remote)` };
  }
  return { verifier: rejectAllTokens, source: "none" };
}
