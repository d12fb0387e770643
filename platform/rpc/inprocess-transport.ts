/**
 * A Connect Transport that calls a co-located service's implementation
 * directly: no network, no serialization. To keep the two sides from sharing
 * mutable objects, the request is deep-copied (protobuf-es `clone`) before
 * the callee sees it, and each response message before the caller does.
 *
 * Connect semantics are kept: the callee gets a HandlerContext (request
 * headers, deadline via `timeoutMs()` and `signal`, response headers and
 * trailers, context values; see inprocess-call.ts), errors arrive as
 * ConnectError with code, message, details and metadata (response headers
 * and trailers), a non-ConnectError failure arrives as Internal "internal
 * error", and the call rejects with DeadlineExceeded, Canceled or (on
 * shutdown) Unavailable as soon as that happens, even if the handler ignores
 * its signal.
 */
import {
  clone,
  create,
  isMessage,
  type DescMessage,
  type DescMethod,
  type DescMethodStreaming,
  type DescMethodUnary,
  type MessageInitShape,
  type MessageShape,
} from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ContextValues,
  type HandlerContext,
  type MethodImplSpec,
  type StreamResponse,
  type Transport,
  type UnaryResponse,
} from "@connectrpc/connect";
import { copyError, handlerError } from "./errors.js";
import { CallContext, IN_PROCESS_PROTOCOL } from "./call-context.js";
import type { InProcessOrigin } from "./call-scope.js";

export { IN_PROCESS_PROTOCOL } from "./call-context.js";

export interface InProcessTransportOptions {
  /** The (instrumented) implementation of a method, if this process serves it. */
  readonly lookup: (method: DescMethod) => MethodImplSpec | undefined;
  /** When it aborts (bundle shutdown), running calls end with its reason. */
  readonly shutdownSignal?: AbortSignal;
  /** Told about failures the callee's instrumentation cannot see (a response that cannot be copied). */
  readonly onInternalError?: (err: unknown, method: DescMethod) => void;
}

/** The in-process transport; the `…From` forms carry the caller's scope (client-transport.ts). */
export interface InProcessTransport extends Transport {
  unaryFrom<I extends DescMessage, O extends DescMessage>(
    origin: InProcessOrigin | undefined,
    method: DescMethodUnary<I, O>,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeadersInit | undefined,
    input: MessageInitShape<I>,
    contextValues?: ContextValues,
  ): Promise<UnaryResponse<I, O>>;
  streamFrom<I extends DescMessage, O extends DescMessage>(
    origin: InProcessOrigin | undefined,
    method: DescMethodStreaming<I, O>,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeadersInit | undefined,
    input: AsyncIterable<MessageInitShape<I>>,
    contextValues?: ContextValues,
  ): Promise<StreamResponse<I, O>>;
}

export function createInProcessTransport(opts: InProcessTransportOptions): InProcessTransport {
  const running = new Set<CallContext>();
  opts.shutdownSignal?.addEventListener(
    "abort",
    () => {
      const reason = ConnectError.from(opts.shutdownSignal!.reason, Code.Unavailable);
      for (const call of running) call.fail(reason);
    },
    { once: true },
  );

  function start(
    origin: InProcessOrigin | undefined,
    method: DescMethod,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeadersInit | undefined,
    contextValues: ContextValues | undefined,
  ): CallContext {
    const call = new CallContext({
      method,
      protocolName: IN_PROCESS_PROTOCOL,
      url: `in-process:///${method.parent.typeName}/${method.name}`,
      timeoutMs,
      signal,
      header,
      values: contextValues,
      origin: origin ?? NO_ORIGIN,
    });
    if (opts.shutdownSignal?.aborted) call.fail(ConnectError.from(opts.shutdownSignal.reason, Code.Unavailable));
    running.add(call);
    return call;
  }

  function end(call: CallContext): void {
    call.complete();
    running.delete(call);
  }

  function find(method: DescMethod, streaming: boolean): MethodImplSpec {
    const spec = opts.lookup(method);
    if (!spec || (spec.kind === "unary") === streaming) {
      throw new ConnectError(
        `/${method.parent.typeName}/${method.name} is not served in this process`,
        Code.Unimplemented,
      );
    }
    return spec;
  }

  const transport: InProcessTransport = {
    unary(method, signal, timeoutMs, header, input, contextValues) {
      return transport.unaryFrom(undefined, method, signal, timeoutMs, header, input, contextValues);
    },
    stream(method, signal, timeoutMs, header, input, contextValues) {
      return transport.streamFrom(undefined, method, signal, timeoutMs, header, input, contextValues);
    },

    async unaryFrom(origin, method, signal, timeoutMs, header, input, contextValues) {
      const spec = find(method, false);
      const call = start(origin, method, signal, timeoutMs, header, contextValues);
      try {
        const request = copyRequest(method.input, input);
        const impl = spec.impl as (req: unknown, ctx: HandlerContext) => unknown;
        const output = await call.run(impl(request, call));
        const message = copyResponse(method, output, opts);
        return new InProcessUnaryResponse(method, call, message) as unknown as UnaryResponse<never, never>;
      } catch (err) {
        throw callerError(err, call);
      } finally {
        end(call);
      }
    },

    async streamFrom(origin, method, signal, timeoutMs, header, input, contextValues) {
      const spec = find(method, true);
      const call = start(origin, method, signal, timeoutMs, header, contextValues);
      const requests = copyEach(method.input, input);
      let output: AsyncIterable<unknown>;
      try {
        switch (spec.kind) {
          case "server_streaming": {
            const impl = spec.impl as (req: unknown, ctx: HandlerContext) => AsyncIterable<unknown>;
            output = impl(await call.run(single(requests)), call);
            break;
          }
          case "client_streaming": {
            const impl = spec.impl as (reqs: AsyncIterable<unknown>, ctx: HandlerContext) => Promise<unknown>;
            output = once(() => impl(requests, call));
            break;
          }
          default: {
            const impl = spec.impl as (reqs: AsyncIterable<unknown>, ctx: HandlerContext) => AsyncIterable<unknown>;
            output = impl(requests, call);
          }
        }
      } catch (err) {
        end(call);
        throw callerError(err, call);
      }
      return {
        stream: true,
        service: method.parent,
        method,
        header: call.responseHeader,
        trailer: call.responseTrailer,
        message: responses(
          (m) => copyResponse(method, m, opts),
          output,
          call,
          () => end(call),
        ),
      } as unknown as StreamResponse<never, never>;
    },
  };
  return transport;
}

/** A call made outside any served call (a start hook, a tool): anonymous, new trace. */
const NO_ORIGIN: InProcessOrigin = Object.freeze({ requestId: undefined, trace: undefined, identity: undefined });

function copy<D extends DescMessage>(schema: D, value: unknown): MessageShape<D> {
  const msg = isMessage(value, schema) ? value : create(schema, value as never);
  return clone(schema, msg);
}

/**
 * The callee's copy of a request. A value that is not a valid message (such
 * as a string that is not valid UTF-8, which `clone` checks) is the caller's
 * mistake: InvalidArgument.
 */
function copyRequest<D extends DescMessage>(schema: D, value: unknown): MessageShape<D> {
  try {
    return copy(schema, value);
  } catch (err) {
    throw new ConnectError(`invalid ${schema.typeName}: ${(err as Error).message}`, Code.InvalidArgument);
  }
}

/** The caller's copy of a response; an invalid one is the callee's bug: Internal. */
function copyResponse(method: DescMethod, value: unknown, opts: InProcessTransportOptions): unknown {
  try {
    return copy(method.output, value);
  } catch (err) {
    opts.onInternalError?.(err, method);
    throw new ConnectError("internal error", Code.Internal, undefined, undefined, err);
  }
}

async function* copyEach(schema: DescMessage, input: AsyncIterable<unknown>): AsyncGenerator<unknown> {
  for await (const m of input) yield copyRequest(schema, m);
}

async function single(requests: AsyncIterable<unknown>): Promise<unknown> {
  const it = requests[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) throw new ConnectError("protocol error: missing input message", Code.InvalidArgument);
  const second = await it.next();
  if (!second.done) throw new ConnectError("protocol error: received extra input message", Code.InvalidArgument);
  return first.value;
}

async function* once(fn: () => Promise<unknown>): AsyncGenerator<unknown> {
  yield await fn();
}

async function* responses(
  copyOut: (m: unknown) => unknown,
  output: AsyncIterable<unknown>,
  call: CallContext,
  end: () => void,
): AsyncGenerator<never> {
  let it: AsyncIterator<unknown> | undefined;
  let done = false;
  try {
    it = output[Symbol.asyncIterator]();
    for (;;) {
      const r = await call.run(it.next());
      if (r.done) {
        done = true;
        return;
      }
      yield copyOut(r.value) as never;
    }
  } catch (err) {
    done = true;
    throw callerError(err, call);
  } finally {
    if (!done) void it?.return?.()?.catch(() => undefined);
    end();
  }
}

/** What the caller sees when the call fails, as a network client would. */
function callerError(err: unknown, call: CallContext): ConnectError {
  const cut = call.abortReason;
  if (cut) return copyError(cut);
  return copyError(handlerError(err), call.header(), call.trailer());
}

/** A unary response whose header and trailer copies are made only if the caller asks (onHeader/onTrailer). */
class InProcessUnaryResponse {
  readonly stream = false;
  readonly service: DescMethod["parent"];
  constructor(
    readonly method: DescMethod,
    private readonly call: CallContext,
    readonly message: unknown,
  ) {
    this.service = method.parent;
  }
  get header(): Headers {
    return this.call.header();
  }
  get trailer(): Headers {
    return this.call.trailer();
  }
}
