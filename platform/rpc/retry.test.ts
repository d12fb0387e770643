import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { EchoService } from "../../gen/orbit/testing/v1/echo_pb.js";
import { backoffMs, DEFAULT_RETRY, isIdempotent, isRetryable, sleep } from "./retry.js";

describe("retry policy", () => {
  it("reads idempotency_level from the proto", () => {
    const m = EchoService.method;
    expect(isIdempotent(m.echo)).toBe(true); // NO_SIDE_EFFECTS
    expect(isIdempotent(m.flaky)).toBe(true); // IDEMPOTENT
    expect(isIdempotent(m.flakyWrite)).toBe(false);
    expect(isIdempotent(m.mutate)).toBe(false);
  });

  it("retries Unavailable and connection failures only", () => {
    expect(isRetryable(new ConnectError("x", Code.Unavailable))).toBe(true);
    const reset = new ConnectError(
      "reset",
      Code.Aborted,
      undefined,
      undefined,
      Object.assign(new Error(), { code: "ECONNRESET" }),
    );
    expect(isRetryable(reset)).toBe(true);
    expect(isRetryable(new ConnectError("x", Code.Aborted))).toBe(false);
    expect(isRetryable(new ConnectError("x", Code.DeadlineExceeded))).toBe(false);
    expect(isRetryable(new Error("x"))).toBe(false);
  });

  it("backs off exponentially with jitter, capped", () => {
    expect(backoffMs(DEFAULT_RETRY, 1, () => 0)).toBe(13);
    expect(backoffMs(DEFAULT_RETRY, 1, () => 1)).toBe(25);
    expect(backoffMs(DEFAULT_RETRY, 2, () => 1)).toBe(50);
    expect(backoffMs(DEFAULT_RETRY, 20, () => 1)).toBe(DEFAULT_RETRY.maxDelayMs);
  });

  it("stops waiting when the call is cancelled", async () => {
    const ac = new AbortController();
    const p = sleep(60_000, ac.signal);
    ac.abort();
    await expect(p).rejects.toMatchObject({ code: Code.Canceled });
  });
});
