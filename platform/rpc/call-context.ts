/**
 * The HandlerContext of an in-process call, and of a network call served by
 * the unary fast path. It behaves like the one Connect builds
 * (createHandlerContext), but makes what a call may never use only when it
 * is first used: the AbortSignal and the three Headers objects. A call that
 * reads neither costs no AbortController, no listeners and no Headers; the
 * kernel's own header reads and writes go through `headerValue` and
 * `setResponseHeader`, which do not build them either.
 *
 * The call settles through `run`: with the handler's result, or as soon as
 * the deadline passes (DeadlineExceeded), the caller's signal aborts
 * (Canceled, or the caller's reason) or the bundle shuts down; the
 * handler's signal aborts then too, and when the call completes.
 */
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, type ContextValues, type HandlerContext } from "@connectrpc/connect";
import type { CallScope, InProcessOrigin } from "./call-scope.js";
import { callScopeKey } from "./scope-keys.js";

export const IN_PROCESS_PROTOCOL = "in-process";

/** Request headers as a plain object (node's IncomingHttpHeaders) or as HeadersInit. */
export type RequestHeaders = HeadersInit | Readonly<Record<string, string | string[] | undefined>>;

export interface CallContextInit {
  readonly method: DescMethod;
  readonly protocolName: string;
  readonly url: string;
  readonly timeoutMs: number | undefined;
  /** Aborts the call (Canceled, or its reason if that is a ConnectError). */
  readonly signal: AbortSignal | undefined;
  /** Node request headers (lower-case keys; pseudo-headers are skipped) or HeadersInit. */
  readonly header: RequestHeaders | undefined;
  /** The caller's context values, if it gave any (made when first read otherwise). */
  readonly values: ContextValues | undefined;
  /** An in-process caller's request id, trace and identity (trusted: only the kernel sets it). */
  readonly origin?: InProcessOrigin;
}

/** The abort reason a handler's signal carries once its call has completed. */
const COMPLETED = new ConnectError("the call has completed", Code.Canceled);

export class CallContext implements HandlerContext {
  readonly protocolName: string;
  readonly requestMethod = "POST";
  readonly service: DescService;
  readonly method: DescMethod;
  readonly url: string;
  /** Set for in-process calls: who called, as the caller's scope knew it. */
  readonly origin: InProcessOrigin | undefined;
  private scopeValue: CallScope | undefined;
  private valuesObject: ContextValues | undefined;
  private controller: AbortController | undefined;
  private settledReason: unknown;
  private settled = false;
  private reject: ((reason: unknown) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly deadline: number | undefined;
  private reqHeader: Headers | undefined;
  private resHeader: Headers | undefined;
  private resTrailer: Headers | undefined;
  /** Response headers set through setResponseHeader before responseHeader was asked for. */
  private resHeaderLite: Record<string, string> | undefined;
  private readonly headerInit: RequestHeaders | undefined;
  private readonly callerSignal: AbortSignal | undefined;
  /** Made only for a call that has a caller's signal. */
  private onCallerAbort: (() => void) | undefined;

  constructor(init: CallContextInit) {
    const { method, timeoutMs } = init;
    this.method = method;
    this.service = method.parent;
    this.protocolName = init.protocolName;
    this.url = init.url;
    this.valuesObject = init.values;
    this.origin = init.origin;
    this.headerInit = init.header;
    const callerSignal = (this.callerSignal = init.signal);
    if (timeoutMs !== undefined) {
      this.deadline = Date.now() + timeoutMs;
      if (timeoutMs <= 0) this.fail(deadlineExceeded());
      else if (timeoutMs >= LONG_TIMEOUT_MS) longDeadlines.add(this);
      else this.timer = setTimeout(() => this.fail(deadlineExceeded()), timeoutMs);
    }
    if (callerSignal) {
      if (callerSignal.aborted) this.fail(ConnectError.from(callerSignal.reason, Code.Canceled));
      else {
        this.onCallerAbort = () => this.fail(ConnectError.from(callerSignal.reason, Code.Canceled));
        callerSignal.addEventListener("abort", this.onCallerAbort, { once: true });
      }
    }
  }

  get values(): ContextValues {
    if (!this.valuesObject) {
      this.valuesObject = createContextValues();
      if (this.scopeValue) this.valuesObject.set(callScopeKey, this.scopeValue);
    }
    return this.valuesObject;
  }

  /** The call's scope (instrument.ts sets it; also readable as the callScopeKey context value). */
  get scope(): CallScope | undefined {
    return this.scopeValue;
  }

  set scope(scope: CallScope | undefined) {
    this.scopeValue = scope;
    this.valuesObject?.set(callScopeKey, scope);
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.settled) this.controller.abort(this.settledReason);
    }
    return this.controller.signal;
  }

  timeoutMs(): number | undefined {
    return this.deadline === undefined ? undefined : this.deadline - Date.now();
  }

  get requestHeader(): Headers {
    return (this.reqHeader ??= toHeaders(this.headerInit));
  }

  /** One request header, without building a Headers object. */
  headerValue(name: string): string | null {
    if (this.reqHeader) return this.reqHeader.get(name);
    const init = this.headerInit;
    if (init === undefined) return null;
    if (init instanceof Headers) return init.get(name);
    if (Array.isArray(init)) return toHeaders(init).get(name);
    const v = (init as Record<string, string | string[] | undefined>)[name];
    return v === undefined ? null : Array.isArray(v) ? v.join(", ") : v;
  }

  get responseHeader(): Headers {
    if (!this.resHeader) {
      this.resHeader = new Headers(this.resHeaderLite);
      this.resHeaderLite = undefined;
    }
    return this.resHeader;
  }

  /** Sets a response header without building a Headers object. */
  setResponseHeader(name: string, value: string): void {
    if (this.resHeader) this.resHeader.set(name, value);
    else (this.resHeaderLite ??= {})[name] = value;
  }

  /** Calls `fn` with each response header set so far. */
  forEachResponseHeader(fn: (value: string, name: string) => void): void {
    if (this.resHeader) this.resHeader.forEach(fn);
    else if (this.resHeaderLite) for (const [k, v] of Object.entries(this.resHeaderLite)) fn(v, k);
  }

  /** Calls `fn` with each response trailer set so far. */
  forEachResponseTrailer(fn: (value: string, name: string) => void): void {
    this.resTrailer?.forEach(fn);
  }

  get responseTrailer(): Headers {
    return (this.resTrailer ??= new Headers());
  }

  /** Copies of the response headers and trailers, for the caller. */
  header(): Headers {
    return new Headers(this.resHeader ?? this.resHeaderLite);
  }

  trailer(): Headers {
    return new Headers(this.resTrailer);
  }

  /** Why the call ended early, if it did (deadline, cancellation, shutdown). */
  get abortReason(): ConnectError | undefined {
    return this.settled && this.settledReason !== COMPLETED ? (this.settledReason as ConnectError) : undefined;
  }

  /** Settles with `work`, unless the call is cut short first. */
  run<T>(work: T | Promise<T>): Promise<T> {
    if (this.settled) {
      if (work instanceof Promise) work.catch(() => undefined);
      return Promise.reject(this.settledReason);
    }
    if (!(work instanceof Promise)) return Promise.resolve(work);
    return new Promise<T>((resolve, reject) => {
      this.reject = reject;
      work.then(
        (v) => {
          this.reject = undefined;
          resolve(v);
        },
        (e) => {
          this.reject = undefined;
          reject(e);
        },
      );
    });
  }

  /** Ends the call early: pending `run`s reject, the handler's signal aborts. */
  fail(reason: ConnectError): void {
    if (this.settled) return;
    this.finish(reason);
    this.reject?.(reason);
    this.reject = undefined;
  }

  /** The call is over: stop its timer and listeners, abort the handler's signal. */
  complete(): void {
    if (!this.settled) this.finish(COMPLETED);
  }

  /** For the sweeper of long deadlines. */
  expireAt(now: number): void {
    if (this.deadline !== undefined && now >= this.deadline) this.fail(deadlineExceeded());
  }

  private finish(reason: unknown): void {
    this.settled = true;
    this.settledReason = reason;
    if (this.timer) clearTimeout(this.timer);
    else if (this.deadline !== undefined) longDeadlines.delete(this);
    if (this.onCallerAbort) this.callerSignal!.removeEventListener("abort", this.onCallerAbort);
    this.controller?.abort(reason);
  }
}

/**
 * Deadlines of a second or more are checked by one shared sweep every
 * 50 ms instead of a timer per call (they fire at most 50 ms late, which is
 * nothing at that scale); shorter ones get their own timer.
 */
const LONG_TIMEOUT_MS = 1_000;
const SWEEP_MS = 50;

class DeadlineSweeper {
  private readonly calls = new Set<CallContext>();
  private timer: NodeJS.Timeout | undefined;
  private idleSweeps = 0;

  add(call: CallContext): void {
    this.calls.add(call);
    if (!this.timer) {
      this.timer = setInterval(() => this.sweep(), SWEEP_MS);
      this.timer.unref();
    }
  }

  delete(call: CallContext): void {
    this.calls.delete(call);
  }

  private sweep(): void {
    if (this.calls.size === 0) {
      if (++this.idleSweeps > 20) {
        clearInterval(this.timer);
        this.timer = undefined;
        this.idleSweeps = 0;
      }
      return;
    }
    this.idleSweeps = 0;
    const now = Date.now();
    for (const call of this.calls) call.expireAt(now);
  }
}

const longDeadlines = new DeadlineSweeper();

function deadlineExceeded(): ConnectError {
  return new ConnectError("the operation timed out", Code.DeadlineExceeded);
}

function toHeaders(init: RequestHeaders | undefined): Headers {
  if (init === undefined || init instanceof Headers || Array.isArray(init)) return new Headers(init as HeadersInit);
  const h = new Headers();
  for (const [k, v] of Object.entries(init)) {
    if (v === undefined || k.startsWith(":")) continue;
    if (Array.isArray(v)) for (const x of v) h.append(k, x);
    else h.append(k, v);
  }
  return h;
}

/** A request header of any HandlerContext, cheaply for a CallContext. */
export function requestHeaderOf(ctx: HandlerContext, name: string): string | null {
  return ctx instanceof CallContext ? ctx.headerValue(name) : ctx.requestHeader.get(name);
}

/** Sets a response header on any HandlerContext, cheaply for a CallContext. */
export function setResponseHeaderOf(ctx: HandlerContext, name: string, value: string): void {
  if (ctx instanceof CallContext) ctx.setResponseHeader(name, value);
  else ctx.responseHeader.set(name, value);
}
