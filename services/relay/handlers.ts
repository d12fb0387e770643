/**
 * RelayService handlers (a test fixture): each calls EchoService through the
 * kernel's typed client, in-process or over the network alike.
 */
import { Code, ConnectError, type Client, type ServiceImpl } from "@connectrpc/connect";
import type { EchoService } from "../../gen/orbit/testing/v1/echo_pb.js";
import type { RelayService } from "../../gen/orbit/testing/v1/relay_pb.js";
import { callScope } from "../../platform/rpc/call-scope.js";

export function relayHandlers(echo: Client<typeof EchoService>): ServiceImpl<typeof RelayService> {
  return {
    async relay(req) {
      const r = await echo.echo({ text: req.text });
      return { text: r.text };
    },

    async relayWhoAmI(_req, hctx) {
      const scope = callScope(hctx);
      const left = hctx.timeoutMs();
      const theirs = await echo.whoAmI({});
      return {
        relay: {
          userId: scope.identity?.userId ?? "",
          traceId: scope.trace.traceId,
          requestId: scope.requestId,
          protocol: scope.protocol,
          timeoutMs: BigInt(left === undefined ? 0 : Math.max(1, Math.round(left))),
        },
        echo: theirs,
      };
    },

    async relayFail(req) {
      if (!req.fail) throw new ConnectError("fail is required", Code.InvalidArgument);
      await echo.fail(req.fail);
      return {};
    },

    async relaySleep(req) {
      const r = await echo.sleep({ ms: req.ms });
      return { cancelled: r.cancelled };
    },
  };
}
