/**
 * The RPC services every bundle serves besides its own, on the same port and
 * every protocol: gRPC health (health.ts) and gRPC server reflection
 * (reflection.ts, v1 and v1alpha). They answer in every state of the bundle —
 * health must say NOT_SERVING while it starts and drains — so they sit in
 * front of the services' handler (`next`), which refuses calls then.
 */
import type { DescService } from "@bufbuild/protobuf";
import type { RequestHandler } from "../http/server.js";
import { MAX_MESSAGE_BYTES } from "../rpc/limits.js";
import { createNodeAdapter } from "../rpc/node-adapter.js";
import { Health, healthService, type HealthSource } from "./health.js";
import { DescriptorIndex, ReflectionV1, ReflectionV1alpha, reflectionV1, reflectionV1alpha } from "./reflection.js";

export interface KernelServicesOptions {
  readonly bundle: HealthSource;
  /** The Connect services the bundle's own services implement. */
  readonly served: readonly DescService[];
  readonly shutdownSignal: AbortSignal;
  /** Every other request. */
  readonly next: RequestHandler;
}

export function kernelServices(opts: KernelServicesOptions): RequestHandler {
  const kernel = [Health, ReflectionV1, ReflectionV1alpha];
  const index = new DescriptorIndex([...opts.served, ...kernel]);
  const health = healthService(
    opts.bundle,
    opts.served.map((s) => s.typeName),
  );
  return createNodeAdapter({
    routes(router) {
      router.service(Health, health);
      router.service(ReflectionV1, reflectionV1(index));
      router.service(ReflectionV1alpha, reflectionV1alpha(index));
    },
    shutdownSignal: opts.shutdownSignal,
    readMaxBytes: MAX_MESSAGE_BYTES,
    writeMaxBytes: MAX_MESSAGE_BYTES,
    fallback: opts.next,
  });
}
