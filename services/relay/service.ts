/**
 * relay: a fixture service that calls echo, so tests can watch what travels
 * between services (in one bundle, or across two with --peer echo=URL).
 */
import { RelayService } from "../../gen/orbit/testing/v1/relay_pb.js";
import { defineService, implement } from "../../platform/kernel/service.js";
import { relayHandlers } from "./handlers.js";

export const relay = defineService({
  name: "relay",
  description: "test fixture: calls echo through the kernel's typed client",
  deps: ["echo"],
  rpc: [implement(RelayService, (ctx) => relayHandlers(ctx))],
});
