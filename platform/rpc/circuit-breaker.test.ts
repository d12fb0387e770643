import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { CircuitBreaker, isPeerFailure, type CircuitState } from "./circuit-breaker.js";

/** What connect-node makes of a refused connection. */
function refused(): ConnectError {
  const cause = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
  return new ConnectError("connect ECONNREFUSED", Code.Unavailable, undefined, undefined, cause);
}

function setup() {
  let now = 0;
  const states: CircuitState[] = [];
  const breaker = new CircuitBreaker({
    name: "peer",
    failureThreshold: 3,
    openMs: 100,
    maxOpenMs: 400,
    now: () => now,
    onStateChange: (s) => states.push(s),
  });
  let calls = 0;
  const call = (outcome: "ok" | "down" | "app-error") =>
    breaker
      .run(async () => {
        calls++;
        if (outcome === "down") throw refused();
        if (outcome === "app-error") throw new ConnectError("not found", Code.NotFound);
        return "ok";
      })
      .then(
        (v) => v,
        (e: ConnectError) => e.code,
      );
  return { breaker, states, call, tick: (ms: number) => (now += ms), calls: () => calls };
}

describe("CircuitBreaker", () => {
  it("opens after consecutive peer failures and then fails fast", async () => {
    const t = setup();
    expect(await t.call("down")).toBe(Code.Unavailable);
    expect(await t.call("down")).toBe(Code.Unavailable);
    expect(t.breaker.state).toBe("closed");
    expect(await t.call("down")).toBe(Code.Unavailable);
    expect(t.breaker.state).toBe("open");
    const before = t.calls();
    expect(await t.call("ok")).toBe(Code.Unavailable);
    expect(t.calls()).toBe(before); // not attempted
  });

  it("probes once after the wait and closes when the peer answers", async () => {
    const t = setup();
    for (let i = 0; i < 3; i++) await t.call("down");
    t.tick(100);
    expect(await t.call("app-error")).toBe(Code.NotFound); // an answer: the peer is up
    expect(t.breaker.state).toBe("closed");
    expect(t.states).toEqual(["open", "half-open", "closed"]);
    expect(await t.call("ok")).toBe("ok");
  });

  it("doubles the wait while the probe keeps failing, up to the maximum", async () => {
    const t = setup();
    for (let i = 0; i < 3; i++) await t.call("down");
    t.tick(100);
    expect(await t.call("down")).toBe(Code.Unavailable); // probe fails: wait 200
    t.tick(199);
    const before = t.calls();
    await t.call("ok");
    expect(t.calls()).toBe(before);
    t.tick(1);
    expect(await t.call("ok")).toBe("ok");
    expect(t.breaker.state).toBe("closed");
  });

  it("lets only one probe through at a time", async () => {
    const t = setup();
    for (let i = 0; i < 3; i++) await t.call("down");
    t.tick(100);
    let release!: () => void;
    const probe = t.breaker.run(() => new Promise<string>((r) => (release = () => r("ok"))));
    expect(await t.call("ok")).toBe(Code.Unavailable);
    release();
    expect(await probe).toBe("ok");
    expect(t.breaker.state).toBe("closed");
  });

  it("does not count errors the peer answered with", async () => {
    const t = setup();
    for (let i = 0; i < 10; i++) await t.call("app-error");
    expect(t.breaker.state).toBe("closed");
    expect(isPeerFailure(new ConnectError("from a handler", Code.Unavailable))).toBe(false);
    expect(isPeerFailure(new ConnectError("timed out", Code.DeadlineExceeded))).toBe(true);
    expect(isPeerFailure(refused())).toBe(true);
  });
});
