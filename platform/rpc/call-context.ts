/**
 * The HandlerContext of an in-process call. It behaves like the one Connect
 * builds for a network request (createHandlerContext), but makes what a call
 * may never use only when it is first used: the AbortSignal and the three
 * Headers objects. An in-process call that reads neither costs no
 * AbortController, no listeners and no Headers.
 *
 * The call settles through `run`: with the handler's result, or as soon as
 * the deadline passes (DeadlineExceeded), the caller's signal aborts
 * (Canceled, or the caller's reason) or the bundle shuts down; the
 * handler's signal aborts then too, and when the call completes.
 */
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, type ContextValues, type HandlerContext } from "@connectrpc/connect";

export const IN_PROCESS_PROTOCOL = "in-process";

/** The abort reason a handler's signal carries once its call has completed. */
const COMPLETED = new ConnectError("the call has completed", Code.Canceled);

export class InProcessCall implements HandlerContext {
  readonly protocolName = IN_PROCESS_PROTOCOL;
  readonly requestMethod = "POST";
  readonly service: DescService;
  readonly url: string;
  private controller: AbortController | undefined;
  private settledReason: unknown;
  private settled = false;
  private reject: ((reason: unknown) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly deadline: number | undefined;
  private reqHeader: Headers | undefined;
  private resHeader: Headers | undefined;
  private resTrailer: Headers | undefined;
  private readonly onCallerAbort = () => this.fail(ConnectError.from(this.callerSignal!.reason, Code.Canceled));

  constructor(
    readonly method: DescMethod,
    timeoutMs: number | undefined,
    private readonly callerSignal: AbortSignal | undefined,
    private readonly headerInit: HeadersInit | undefined,
    readonly values: ContextValues,
  ) {
    this.service = method.parent;
    this.url = `in-process:///${method.parent.typeName}/${method.name}`;
    if (timeoutMs !== undefined) {
      this.deadline = Date.now() + timeoutMs;
      if (timeoutMs <= 0) this.fail(deadlineExceeded());
      else this.timer = setTimeout(() => this.fail(deadlineExceeded()), timeoutMs);
    }
    if (callerSignal) {
      if (callerSignal.aborted) this.onCallerAbort();
      else callerSignal.addEventListener("abort", this.onCallerAbort, { once: true });
    }
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
    return (this.reqHeader ??= new Headers(this.headerInit));
  }

  get responseHeader(): Headers {
    return (this.resHeader ??= new Headers());
  }

  get responseTrailer(): Headers {
    return (this.resTrailer ??= new Headers());
  }

  /** Copies of the response headers and trailers, for the caller. */
  header(): Headers {
    return new Headers(this.resHeader);
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

  private finish(reason: unknown): void {
    this.settled = true;
    this.settledReason = reason;
    clearTimeout(this.timer);
    this.callerSignal?.removeEventListener("abort", this.onCallerAbort);
    this.controller?.abort(reason);
  }
}

function deadlineExceeded(): ConnectError {
  return new ConnectError("the operation timed out", Code.DeadlineExceeded);
}
