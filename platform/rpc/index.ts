/**
 * The RPC layer of the kernel: typed clients that work the same in-process
 * and over the network, the per-call scope (identity, trace, deadline) and
 * its propagation, authentication, metrics and resilience (retries, circuit
 * breaker). Services use only the first block; the kernel wires the rest.
 */
export type { CallScope } from "./call-scope.js";
export { callScope, currentCall, detached, requireService, requireUser } from "./call-scope.js";
export type { Identity, TokenVerifier } from "./identity.js";
export { rejectAllTokens, staticTokens } from "./identity.js";
export type { TraceContext } from "./trace.js";

// Kernel wiring.
export { Authenticator } from "./authenticator.js";
export { ClusterSigner, IDENTITY_HEADER } from "./cluster-signer.js";
export { CircuitBreaker, type CircuitBreakerOptions, type CircuitState } from "./circuit-breaker.js";
export { createClientTransport, type ClientTransportOptions, type Target } from "./client-transport.js";
export { CallContext } from "./call-context.js";
export { createInProcessTransport, IN_PROCESS_PROTOCOL, type InProcessTransport } from "./inprocess-transport.js";
export { createRemoteTransport, type RemoteTransportOptions } from "./remote-transport.js";
export { createUnaryClient, type UnaryClientOptions } from "./unary-client.js";
export { createUnaryFastPath, type UnaryFastPathOptions } from "./unary-fast-path.js";
export { MAX_MESSAGE_BYTES } from "./limits.js";
export { instrumentService, REQUEST_ID_HEADER, type InstrumentDeps } from "./instrument.js";
export { RpcMetrics } from "./metrics.js";
export { DEFAULT_RETRY, isIdempotent, type RetryPolicy } from "./retry.js";
export { codeLabel, copyError, handlerError, isTransportFailure } from "./errors.js";
export { callScopeKey } from "./scope-keys.js";
