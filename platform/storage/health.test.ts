import { describe, expect, it } from "vitest";
import { cachedProbe } from "./health.js";

describe("cachedProbe", () => {
  it("answers ok with the check's line, caches it, and reports changes", async () => {
    let now = 0;
    let calls = 0;
    let up = true;
    const changes: boolean[] = [];
    const probe = cachedProbe(
      "store",
      async () => {
        calls++;
        if (!up) throw new Error("connection refused");
        return "store 1.0 at h";
      },
      { cacheMs: 1_000, now: () => now, onChange: (r) => changes.push(r.ok) },
    );
    expect(await probe.check()).toEqual({ ok: true, detail: "store 1.0 at h" });
    await Promise.all([probe.check(), probe.check()]);
    expect(calls).toBe(1); // cached
    up = false;
    now = 1_500;
    const [a, b] = await Promise.all([probe.check(), probe.check()]);
    expect(a).toEqual({ ok: false, detail: "store: connection refused" });
    expect(b).toBe(a);
    expect(calls).toBe(2); // one check in flight at a time
    up = true;
    now = 3_000;
    expect((await probe.check()).ok).toBe(true);
    expect(changes).toEqual([false, true]);
  });

  it("gives up on a check that does not answer within timeoutMs", async () => {
    const probe = cachedProbe("slow", () => new Promise<string>(() => {}), { timeoutMs: 50 });
    expect(await probe.check()).toEqual({ ok: false, detail: "slow: no answer within 50 ms" });
  });
});
