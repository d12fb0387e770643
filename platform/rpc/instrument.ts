/**
 * Wraps every RPC implementation of a bundle, for both call paths (the
 * network router and the in-process transport call the same wrapped
 * functions). Around each call it:
 *
 *  - builds the CallScope: request id, trace span, deadline, and the caller's
 *    identity (from the in-process caller, or authenticated from headers);
 *  - runs the handler inside that scope (AsyncLocalStorage), so the typed
 *    clients it uses propagate the scope;
 *  - checks the request against the validation rules declared in the proto
 *    (platform/validate: InvalidArgument naming the field) before the handler;
 *  - counts the call and its latency in the metrics, and logs it (debug when
 *    it succeeds, info for caller errors, warn for server errors, error with
 *    the stack for a handler that throws something other than ConnectError,
 *    which the caller sees as Internal "internal error").
 */
import type { DescMethod, Message } from "@bufbuild/protobuf";
import type { HandlerContext, MethodImplSpec, ServiceImplSpec } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "../log.js";
import type { Authenticator } from "./authenticator.js";
import { CallContext, IN_PROCESS_PROTOCOL, requestHeaderOf, setResponseHeaderOf } from "./call-context.js";
import { IDENTITY_HEADER } from "./cluster-signer.js";
import { runInCall, type CallScope } from "./call-scope.js";
import { callScopeKey } from "./scope-keys.js";
import { codeLabel, handlerError, isClientError } from "./errors.js";
import { isStoreUnavailable } from "../storage/unavailable.js";
import type { Identity } from "./identity.js";
import type { MethodMetrics, RpcMetrics } from "./metrics.js";
import { invalidArgument } from "../validate/errors.js";
import { methodLimits, type RequestLimitDefaults } from "./limits.js";
import { StoreEpisodes, unavailableStore } from "./store-episodes.js";
import {
  childSpan,
  incomingRequestId,
  newRequestId,
  parseTraceparent,
  TRACEPARENT_HEADER,
  type TraceContext,
} from "./trace.js";

export const REQUEST_ID_HEADER = "x-request-id";

export interface InstrumentDeps {
  readonly log: Logger;
  readonly metrics: RpcMetrics;
  readonly authenticator: Authenticator;
  /** The bundle's limits: a unary call's deadline is capped by its method's (rpc/limits.ts). */
  readonly limits?: RequestLimitDefaults;
  /** Store outages, logged once per episode (shared by the bundle's services). */
  readonly episodes?: StoreEpisodes;
}

export function instrumentService(spec: ServiceImplSpec, deps: InstrumentDeps): ServiceImplSpec {
  const methods: Record<string, MethodImplSpec> = {};
  for (const [name, m] of Object.entries(spec.methods)) methods[name] = instrumentMethod(m, deps);
  return { service: spec.service, methods };
}

/**
 * The scope of one served call. The request id and the span are made when
 * first read (most in-process calls never read them).
 */
class Scope implements CallScope {
  fromService = false;
  /** Set when this server's own cap on the call's deadline passed (the client's deadline was later or none). */
  expired: ConnectError | undefined;
  /** This server's cap, when it is shorter than the client's deadline (ms from the start). */
  capMs: number | undefined;
  private childLog: Logger | undefined;
  private span: TraceContext | undefined;
  constructor(
    readonly procedure: string,
    readonly protocol: string,
    private rid: string | undefined,
    private readonly parent: TraceContext | undefined,
    public identity: Identity | undefined,
    readonly deadline: number | undefined,
    private readonly ctx: HandlerContext,
    private readonly baseLog: Logger,
  ) {}
  get requestId(): string {
    return (this.rid ??= newRequestId());
  }
  get trace(): TraceContext {
    return (this.span ??= childSpan(this.parent));
  }
  get signal(): AbortSignal {
    // Read lazily: an in-process call makes its signal only when asked.
    return this.ctx.signal;
  }
  get failedEarly(): ConnectError | undefined {
    return endedEarly(this.ctx) ?? this.expired;
  }
  get log(): Logger {
    return (this.childLog ??= this.baseLog.child({
      requestId: this.requestId,
      traceId: this.trace.traceId,
      rpc: this.procedure,
      ...(this.identity ? { userId: this.identity.userId } : {}),
    }));
  }
}

class MethodObserver {
  readonly procedure: string;
  private readonly metrics: MethodMetrics;
  /** The longest deadline of a unary call (streams are not capped). */
  private readonly capMs: number | undefined;
  private readonly episodes: StoreEpisodes;

  constructor(
    readonly method: DescMethod,
    private readonly deps: InstrumentDeps,
  ) {
    this.procedure = `/${method.parent.typeName}/${method.name}`;
    this.metrics = deps.metrics.server(method);
    this.capMs = method.methodKind === "unary" ? methodLimits(method, deps.limits).timeoutMs : undefined;
    this.episodes = deps.episodes ?? new StoreEpisodes(deps.log);
  }

  /** Starts a call: its scope, with the caller authenticated (async only for bearer tokens). */
  enter(ctx: HandlerContext): Scope | Promise<Scope> {
    const origin = ctx instanceof CallContext ? ctx.origin : undefined;
    let requestId: string | undefined;
    let parent: TraceContext | undefined;
    if (origin) {
      requestId = origin.requestId;
      parent = origin.trace;
    } else {
      requestId = incomingRequestId(requestHeaderOf(ctx, REQUEST_ID_HEADER));
      parent = parseTraceparent(requestHeaderOf(ctx, TRACEPARENT_HEADER));
    }
    // "Now" read before the time left: the scope's deadline is then never later than the call's
    // (read after, a millisecond tick in between made it 1 ms later, and a call made from the
    // handler inherited 1 ms more than the handler had).
    const now = Date.now();
    const client = ctx.timeoutMs();
    const cap = this.capMs;
    const timeout = cap === undefined ? client : client === undefined ? cap : Math.min(client, cap);
    const scope = new Scope(
      this.procedure,
      ctx.protocolName,
      requestId,
      parent,
      undefined,
      timeout === undefined ? undefined : now + timeout,
      ctx,
      this.deps.log,
    );
    if (cap !== undefined && (client === undefined || cap < client)) scope.capMs = cap;
    if (ctx instanceof CallContext) ctx.scope = scope;
    else ctx.values.set(callScopeKey, scope);
    if (this.deps.log.isLevelEnabled("trace")) scope.log.trace({ timeoutMs: timeout }, "rpc started");
    if (origin) {
      scope.identity = origin.identity;
      scope.fromService = true;
      return scope;
    }
    setResponseHeaderOf(ctx, REQUEST_ID_HEADER, scope.requestId);
    const identity = this.deps.authenticator.authenticate((name) => requestHeaderOf(ctx, name), this.procedure, ctx);
    // In-process (a caller outside any call), or a signed header that verified (authenticate throws otherwise).
    scope.fromService = ctx.protocolName === IN_PROCESS_PROTOCOL || requestHeaderOf(ctx, IDENTITY_HEADER) !== null;
    if (identity instanceof Promise) {
      return identity.then((id) => {
        scope.identity = id;
        return scope;
      });
    }
    scope.identity = identity;
    return scope;
  }

  ok(scope: Scope, t0: number): void {
    const seconds = (performance.now() - t0) / 1000;
    this.metrics.record(scope.protocol, "ok", seconds);
    this.episodes.ok();
    if (this.deps.log.isLevelEnabled("debug")) scope.log.debug({ code: "ok", ms: round(seconds) }, "rpc");
  }

  /** Records a failed call and returns the error the caller gets. */
  failed(err: unknown, ctx: HandlerContext, scope: Scope | undefined, t0: number): ConnectError {
    const error = scope?.expired ?? handlerError(err, ctx.signal);
    const seconds = (performance.now() - t0) / 1000;
    const code = codeLabel(error.code);
    this.metrics.record(scope?.protocol ?? ctx.protocolName, code, seconds);
    const log = scope?.log ?? this.deps.log.child({ rpc: this.procedure });
    const fields = { code, ms: round(seconds), error: error.rawMessage };
    if (isStoreUnavailable(err) && !scope?.expired) {
      this.episodes.unavailable(unavailableStore(err), (err as Error).message, fields);
    } else if (isClientError(error.code)) {
      // The caller's mistake (a garbled page token, a bad value): no stack, no alert.
      log.info(fields, "rpc");
    } else if (!(err instanceof ConnectError) && error.cause === err && error.code === Code.Internal) {
      log.error({ ...fields, err }, "rpc handler failed");
    } else {
      log.warn(fields, "rpc");
    }
    return error;
  }
}

/**
 * Why a call ended before its handler did (deadline, cancellation, shutdown), or undefined. A
 * CallContext knows without making its signal; connect-es's context aborts its signal with the
 * reason (and, once the call is over, with none: that is a normal end).
 */
function endedEarly(ctx: HandlerContext): ConnectError | undefined {
  if (ctx instanceof CallContext) return ctx.abortReason;
  return ctx.signal.aborted && ctx.signal.reason instanceof ConnectError ? ctx.signal.reason : undefined;
}

/** `work`'s result, unless `signal` aborts first: then the abort reason (the deadline's DeadlineExceeded). */
function untilAborted<T>(work: T | Promise<T>, signal: AbortSignal): Promise<T> {
  if (!(work instanceof Promise)) return Promise.resolve(work);
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(ConnectError.from(signal.reason, Code.Canceled));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(ConnectError.from(signal.reason, Code.Canceled));
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

/** `work`'s result, unless this server's cap on the deadline passes first: then DeadlineExceeded. */
function untilExpired<T>(work: T | Promise<T>, scope: Scope, ms: number): Promise<T> {
  if (!(work instanceof Promise)) return Promise.resolve(work);
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      scope.expired = new ConnectError(
        `the call's deadline passed (this server's limit of ${ms} ms)`,
        Code.DeadlineExceeded,
      );
      work.catch(() => undefined);
      reject(scope.expired);
    }, ms);
    work.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

function round(seconds: number): number {
  return Math.round(seconds * 1e6) / 1e3;
}

type AnyUnary = (req: unknown, ctx: HandlerContext) => unknown;
type AnyStream = (req: unknown, ctx: HandlerContext) => AsyncIterable<unknown>;

function instrumentMethod(spec: MethodImplSpec, deps: InstrumentDeps): MethodImplSpec {
  const o = new MethodObserver(spec.method, deps);
  switch (spec.kind) {
    case "unary":
    case "client_streaming": {
      const impl = spec.impl as AnyUnary;
      const wrapped: AnyUnary = async (req, ctx) => {
        const t0 = performance.now();
        let scope: Scope | undefined;
        try {
          const s = o.enter(ctx);
          scope = s instanceof Promise ? await s : s;
          if (spec.kind === "unary") {
            const invalid = invalidArgument(spec.method.input, req as Message);
            if (invalid) throw invalid;
          }
          const early = endedEarly(ctx);
          if (early) throw early; // e.g. the deadline passed while the request was read
          const work = runInCall(scope, () => impl(req, ctx));
          // The fast path and the in-process transport end a CallContext's call at its deadline
          // themselves (CallContext.run); connect-es only aborts the handler's signal, and would
          // still answer OK for a handler that finishes late.
          let pending = ctx instanceof CallContext ? work : untilAborted(work, ctx.signal);
          if (scope.capMs !== undefined) pending = untilExpired(pending, scope, scope.capMs);
          const out = await pending;
          o.ok(scope, t0);
          return out;
        } catch (err) {
          throw o.failed(err, ctx, scope, t0);
        }
      };
      return { ...spec, impl: wrapped } as MethodImplSpec;
    }
    case "server_streaming":
    case "bidi_streaming": {
      const impl = spec.impl as AnyStream;
      const wrapped: AnyStream = (req, ctx) => stream(o, impl, req, ctx);
      return { ...spec, impl: wrapped } as MethodImplSpec;
    }
  }
}

async function* stream(o: MethodObserver, impl: AnyStream, req: unknown, ctx: HandlerContext): AsyncGenerator<unknown> {
  const t0 = performance.now();
  let scope: Scope | undefined;
  let it: AsyncIterator<unknown> | undefined;
  let finished = false;
  try {
    const s = o.enter(ctx);
    scope = s instanceof Promise ? await s : s;
    if (o.method.methodKind === "server_streaming") {
      const invalid = invalidArgument(o.method.input, req as Message);
      if (invalid) throw invalid;
    }
    const sc = scope;
    let early = endedEarly(ctx);
    if (early) throw early;
    it = runInCall(sc, () => impl(req, ctx)[Symbol.asyncIterator]());
    const iter = it;
    for (;;) {
      // Each step runs in the call's scope: generators take the async
      // context of whoever calls next(), not of where they were created.
      const r = await runInCall(sc, () => iter.next());
      // A deadline (or cancellation) ends the stream with its error, even if the handler stopped quietly.
      early = endedEarly(ctx);
      if (early) throw early;
      if (r.done) break;
      yield r.value;
    }
    finished = true;
    o.ok(sc, t0);
  } catch (err) {
    finished = true;
    throw o.failed(err, ctx, scope, t0);
  } finally {
    if (!finished) {
      // The consumer stopped early (cancelled stream): let the handler clean up.
      void it?.return?.()?.catch(() => undefined);
      o.failed(new ConnectError("the stream was cancelled", Code.Canceled), ctx, scope, t0);
    }
  }
}
