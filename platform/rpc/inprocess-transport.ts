/**
 * A Connect Transport that calls a co-located service's implementation
 * directly: no network, no serialization. To keep the two sides from sharing
 * mutable objects, the request is deep-copied (protobuf-es `clone`) before
 * the callee sees it, and each response message before the caller does.
 *
 * Connect semantics are kept: the callee gets a real HandlerContext (request
 * headers, deadline via `timeoutMs()` and `signal`, response headers and
 * trailers, context values), errors arrive as ConnectError with code,
 * message, details and metadata (response headers and trailers), a
 * non-ConnectError failure arrives as Internal "internal error", and the
 * call rejects with DeadlineExceeded or Canceled when its deadline passes or
 * its signal aborts, even if the handler ignores its signal.
 */
import { clone, create, isMessage, type DescMessage, type DescMethod, type MessageShape } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createContextValues,
  createHandlerContext,
  type ContextValues,
  type HandlerContext,
  type MethodImplSpec,
  type StreamResponse,
  type Transport,
  type UnaryResponse,
} from "@connectrpc/connect";
import { copyError, handlerError } from "./errors.js";

export const IN_PROCESS_PROTOCOL = "in-process";

export interface InProcessTransportOptions {
  /** The (instrumented) implementation of a method, if this process serves it. */
  readonly lookup: (method: DescMethod) => MethodImplSpec | undefined;
  /** Aborted when the bundle shuts down; handlers see it through ctx.signal. */
  readonly shutdownSignal?: AbortSignal;
  /** Told about failures the callee's instrumentation cannot see (a response that cannot be copied). */
  readonly onInternalError?: (err: unknown, method: DescMethod) => void;
}

type HandlerCtx = ReturnType<typeof createHandlerContext>;

export function createInProcessTransport(opts: InProcessTransportOptions): Transport {
  function context(
    method: DescMethod,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeadersInit | undefined,
    contextValues: ContextValues | undefined,
  ): HandlerCtx {
    return createHandlerContext({
      service: method.parent,
      method,
      protocolName: IN_PROCESS_PROTOCOL,
      requestMethod: "POST",
      url: `in-process:///${method.parent.typeName}/${method.name}`,
      timeoutMs,
      requestSignal: signal,
      shutdownSignal: opts.shutdownSignal,
      requestHeader: header,
      contextValues: contextValues ?? createContextValues(),
    });
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

  return {
    async unary(method, signal, timeoutMs, header, input, contextValues) {
      const spec = find(method, false);
      const ctx = context(method, signal, timeoutMs, header, contextValues);
      try {
        const request = copyRequest(method.input, input);
        const impl = spec.impl as (req: unknown, ctx: HandlerContext) => unknown;
        const output = await abortable(impl(request, ctx), ctx.signal);
        return {
          stream: false,
          service: method.parent,
          method,
          header: new Headers(ctx.responseHeader),
          trailer: new Headers(ctx.responseTrailer),
          message: copyResponse(method, output, opts),
        } as UnaryResponse<never, never>;
      } catch (err) {
        throw callerError(err, ctx);
      } finally {
        ctx.abort();
      }
    },

    async stream(method, signal, timeoutMs, header, input, contextValues) {
      const spec = find(method, true);
      const ctx = context(method, signal, timeoutMs, header, contextValues);
      const requests = copyEach(method.input, input);
      const copyOut = (m: unknown) => copyResponse(method, m, opts);
      let output: AsyncIterable<unknown>;
      try {
        switch (spec.kind) {
          case "server_streaming": {
            const impl = spec.impl as (req: unknown, ctx: HandlerContext) => AsyncIterable<unknown>;
            output = impl(await abortable(single(requests), ctx.signal), ctx);
            break;
          }
          case "client_streaming": {
            const impl = spec.impl as (reqs: AsyncIterable<unknown>, ctx: HandlerContext) => Promise<unknown>;
            output = once(() => impl(requests, ctx));
            break;
          }
          default: {
            const impl = spec.impl as (reqs: AsyncIterable<unknown>, ctx: HandlerContext) => AsyncIterable<unknown>;
            output = impl(requests, ctx);
          }
        }
      } catch (err) {
        ctx.abort();
        throw callerError(err, ctx);
      }
      return {
        stream: true,
        service: method.parent,
        method,
        header: ctx.responseHeader,
        trailer: ctx.responseTrailer,
        message: responses(copyOut, output, ctx),
      } as unknown as StreamResponse<never, never>;
    },
  };
}

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
  ctx: HandlerCtx,
): AsyncGenerator<never> {
  let it: AsyncIterator<unknown> | undefined;
  let done = false;
  try {
    it = output[Symbol.asyncIterator]();
    for (;;) {
      const r = await abortable(it.next(), ctx.signal);
      if (r.done) {
        done = true;
        return;
      }
      yield copyOut(r.value) as never;
    }
  } catch (err) {
    done = true;
    throw callerError(err, ctx);
  } finally {
    if (!done) void it?.return?.()?.catch(() => undefined);
    ctx.abort();
  }
}

/** What the caller sees when the call fails, as a network client would. */
function callerError(err: unknown, ctx: HandlerCtx): ConnectError {
  if (ctx.signal.aborted) {
    return copyError(ConnectError.from(ctx.signal.reason, Code.Canceled));
  }
  return copyError(handlerError(err), ctx.responseHeader, ctx.responseTrailer);
}

/** Settles with `value`, or rejects as soon as `signal` aborts. */
function abortable<T>(value: T | Promise<T>, signal: AbortSignal): Promise<T> {
  if (!(value instanceof Promise)) return Promise.resolve(value);
  if (signal.aborted) {
    value.catch(() => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    value.then(
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
