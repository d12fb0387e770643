import { describe, expect, it } from "vitest";
import { childSpan, formatTraceparent, newRequestId, parseTraceparent } from "./trace.js";

describe("traceparent", () => {
  it("parses and formats W3C traceparent", () => {
    const v = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const t = parseTraceparent(v)!;
    expect(t).toEqual({ traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7", sampled: true });
    expect(formatTraceparent(t)).toBe(v);
  });

  it("ignores malformed values", () => {
    for (const v of [
      null,
      "",
      "garbage",
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
      "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
    ]) {
      expect(parseTraceparent(v)).toBeUndefined();
    }
  });

  it("keeps the trace and makes a new span for each call", () => {
    const root = childSpan(undefined);
    expect(root.traceId).toMatch(/^[0-9a-f]{32}$/);
    const child = childSpan(root);
    expect(child).toMatchObject({ traceId: root.traceId, parentSpanId: root.spanId });
    expect(child.spanId).not.toBe(root.spanId);
    expect(new Set(Array.from({ length: 1000 }, () => newRequestId())).size).toBe(1000);
  });
});
