/**
 * relay: a fixture service that calls echo, so tests can watch what travels
 * between services (in one bundle, or across two with --peer echo=URL), from
 * an RPC handler or from an HTTP route.
 */
import { EchoService } from "../../gen/orbit/testing/v1/echo_pb.js";
import { RelayService } from "../../gen/orbit/testing/v1/relay_pb.js";
import { sendJson } from "../../platform/http/json.js";
import { defineService } from "../../platform/kernel/service.js";
import { relayHandlers } from "./handlers.js";

export const relay = defineService({
  name: "relay",
  description: "test fixture: calls echo through the kernel's typed client",
  deps: ["echo"],
  api: [RelayService],
  build(ctx) {
    const echo = ctx.client(EchoService);
    return {
      rpc: [relayHandlers(echo)],
      routes: [
        {
          // What echo sees when a route handler calls it: the route's caller, trace and request id.
          path: "/testing/relay/whoami",
          async handle(_req, res) {
            const theirs = await echo.whoAmI({});
            sendJson(res, 200, { userId: theirs.userId, requestId: theirs.requestId, protocol: theirs.protocol });
          },
        },
      ],
    };
  },
});
