/**
 * EchoService handlers (a test fixture; see proto/internal/orbit/testing/v1/echo.proto).
 * Every input is checked: bad values answer InvalidArgument.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  FailDetailSchema,
  PayloadSchema,
  type EchoService,
  type WhoAmIResponse,
  WhoAmIResponseSchema,
} from "../../gen/orbit/testing/v1/echo_pb.js";
import { EchoNoteRowDao } from "../../gen/orbit/testing/v1/tables_db.js";
import type { ServiceContext } from "../../platform/kernel/context.js";
import { callScope } from "../../platform/rpc/call-scope.js";

const MAX_STREAM = 10_000;
const MAX_SLEEP_MS = 60_000;

function invalid(message: string): ConnectError {
  return new ConnectError(message, Code.InvalidArgument);
}

/** What the kernel told this handler about its call. */
export function whoAmI(ctx: HandlerContext): WhoAmIResponse {
  const scope = callScope(ctx);
  const left = ctx.timeoutMs();
  return create(WhoAmIResponseSchema, {
    userId: scope.identity?.userId ?? "",
    traceId: scope.trace.traceId,
    requestId: scope.requestId,
    protocol: scope.protocol,
    timeoutMs: BigInt(left === undefined ? 0 : Math.max(1, Math.round(left))),
  });
}

export function echoHandlers(ctx: ServiceContext): ServiceImpl<typeof EchoService> {
  const notes = new EchoNoteRowDao(ctx.db);
  // Kept between calls; Mutate hands it out and must never see it changed.
  const kept = create(PayloadSchema, { text: "kept by echo", tags: ["original"] });
  let mutateCalls = 0n;
  const attempts = new Map<string, number>();

  function flaky(kind: string, key: string, failTimes: number): { attempts: number } {
    if (!key) throw invalid("key must not be empty");
    if (failTimes < 0 || failTimes > 100) throw invalid("fail_times must be in 0..100");
    const n = (attempts.get(`${kind}:${key}`) ?? 0) + 1;
    attempts.set(`${kind}:${key}`, n);
    if (n <= failTimes) throw new ConnectError(`flaky: attempt ${n} of ${key} fails`, Code.Unavailable);
    return { attempts: n };
  }

  return {
    echo(req) {
      return { text: req.text, value: req.value };
    },

    async *echoStream(req, ctx) {
      if (req.count < 0 || req.count > MAX_STREAM) throw invalid(`count must be in 0..${MAX_STREAM}`);
      for (let i = 0; i < req.count && !ctx.signal.aborted; i++) yield { text: req.text, index: i };
    },

    fail(req) {
      if (!Number.isInteger(req.code) || req.code < 1 || req.code > 16) {
        throw invalid("code must be a Connect error code (1..16)");
      }
      throw new ConnectError(req.message, req.code as Code, { "x-failed-by": "echo" }, [
        { desc: FailDetailSchema, value: { reason: req.reason, service: "echo" } },
      ]);
    },

    whoAmI(_req, ctx) {
      return whoAmI(ctx);
    },

    mutate(req) {
      // Change everything we were given: the caller must not notice.
      if (req.payload) {
        req.payload.text = "changed by echo";
        req.payload.tags.push("echo was here");
      }
      req.numbers.push(99n);
      mutateCalls++;
      return { kept, calls: mutateCalls };
    },

    async sleep(req, ctx) {
      if (req.ms < 0 || req.ms > MAX_SLEEP_MS) throw invalid(`ms must be in 0..${MAX_SLEEP_MS}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, req.ms);
        ctx.signal.addEventListener(
          "abort",
          () => {
            clearTimeout(timer);
            resolve();
          },
          { once: true },
        );
      });
      return { cancelled: ctx.signal.aborted };
    },

    flaky(req) {
      return flaky("flaky", req.key, req.failTimes);
    },

    flakyWrite(req) {
      return flaky("write", req.key, req.failTimes);
    },

    async note(req) {
      if (req.text.length > 200) throw invalid("text must be at most 200 characters");
      const id = ctx.ids.next();
      await notes.insert({ id, text: req.text, createdAtMs: BigInt(Date.now()) });
      return { id };
    },
  };
}
