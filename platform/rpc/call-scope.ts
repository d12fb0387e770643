/**
 * The call a piece of code is running for. While a handler runs, the kernel
 * keeps its CallScope in an AsyncLocalStorage, so the typed clients it uses
 * pass the caller's identity, trace, request id, deadline and cancellation
 * on to the next service without the handler passing anything.
 *
 * Handlers read the scope with `callScope(ctx)` (or `currentCall()`), and
 * require a signed-in user with `requireUser(ctx)`.
 *
 * Outgoing calls inherit the scope's deadline and are cancelled when the
 * handler's call ends. Work that must outlive the call (a background task
 * started from a handler) runs inside `detached(() => …)`.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { CallContext } from "./call-context.js";
import { callScopeKey } from "./scope-keys.js";
import { setDeadlineSource } from "../deadline.js";
import type { Logger } from "../log.js";
import type { Identity } from "./identity.js";
import type { TraceContext } from "./trace.js";

export interface CallScope {
  /** "/orbit.post.v1.PostService/CreatePost". */
  readonly procedure: string;
  /** "connect", "grpc", "grpc-web" or "in-process". */
  readonly protocol: string;
  /** The request id of the edge request (x-request-id), kept across services. */
  readonly requestId: string;
  readonly trace: TraceContext;
  /** The signed-in user, or undefined for an anonymous call. */
  readonly identity: Identity | undefined;
  /**
   * The call comes from a service of this deployment: in-process, or from
   * another bundle with a valid `orbit-identity` header (signed with the
   * cluster secret). False for every outside client, signed in or not.
   */
  readonly fromService: boolean;
  /** When the call's deadline passes (epoch ms), if it has one. */
  readonly deadline: number | undefined;
  /** Aborted when the call ends, times out or is cancelled. */
  readonly signal: AbortSignal;
  /**
   * Why the call ended before its handler did, once it has: its deadline
   * passed (DeadlineExceeded), the client went away (Canceled) or the bundle
   * shut down (Unavailable). The caller was answered with that error, so work
   * still running for the call must not commit (commit-guard.ts). Undefined
   * while the call runs, and after it ended normally.
   */
  readonly failedEarly: ConnectError | undefined;
  /** A logger whose lines carry requestId, traceId and the procedure. */
  readonly log: Logger;
}

/**
 * What a co-located caller hands to its callee. Set only by the kernel's
 * in-process transport (a network request has none), so the callee trusts
 * it without a signature.
 */
export interface InProcessOrigin {
  /** The caller's request id; a new one is made (when needed) if absent. */
  readonly requestId: string | undefined;
  /** The caller's span; the callee starts a trace if absent. */
  readonly trace: TraceContext | undefined;
  readonly identity: Identity | undefined;
}

export { callScopeKey };

const storage = new AsyncLocalStorage<CallScope>();
// Stores bound their work by the current call's deadline (platform/deadline.ts).
setDeadlineSource(() => storage.getStore()?.deadline);

/** The call the current code runs for, if any. */
export function currentCall(): CallScope | undefined {
  return storage.getStore();
}

/** Runs `fn` as part of `scope`. */
export function runInCall<T>(scope: CallScope, fn: () => T): T {
  return storage.run(scope, fn);
}

/** Runs `fn` outside any call: its outgoing calls neither inherit a deadline nor get cancelled with the call. */
export function detached<T>(fn: () => T): T {
  return storage.exit(fn);
}

/** The scope of the call a handler is serving. */
export function callScope(ctx: HandlerContext): CallScope {
  const scope = ctx instanceof CallContext ? ctx.scope : ctx.values.get(callScopeKey);
  if (!scope) throw new Error("callScope(): this handler context was not created by the Orbit kernel");
  return scope;
}

/**
 * Refuses (PermissionDenied) a call that does not come from a service of
 * this deployment: for methods that other services use and outside clients
 * must not (they would reveal private data, such as who blocked whom).
 */
export function requireService(ctx: HandlerContext): void {
  if (!callScope(ctx).fromService)
    throw new ConnectError("this method is only for Orbit services", Code.PermissionDenied);
}

/** The signed-in caller, or Unauthenticated. */
export function requireUser(ctx: HandlerContext): Identity {
  const identity = callScope(ctx).identity;
  if (!identity) throw new ConnectError("this method requires a signed-in user", Code.Unauthenticated);
  return identity;
}
