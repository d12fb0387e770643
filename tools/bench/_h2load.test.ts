import { describe, expect, it } from "vitest";
import { parseH2load, processCpuMicros } from "./_h2load.js";

const SAMPLE = `starting benchmark...
spawning thread #0: 4 total client(s). Timing-based test with 0s of warm-up time and 3s of main duration for measurements.
Application protocol: h2c

finished in 3.00s, 10221.33 req/s, 918.74KB/s
requests: 30664 total, 30696 started, 30664 done, 30600 succeeded, 64 failed, 0 errored, 0 timeout
status codes: 30600 2xx, 0 3xx, 0 4xx, 64 5xx
traffic: 2.69MB (2822360) total, 239.97KB (245732) headers (space savings 90.89%), 1.93MB (2023824) data
                     min         max         mean         sd        +/- sd
time for request:      269us    199.56ms      3.10ms     10.56ms    97.57%
time for connect:       97us      8.46ms      5.67ms      3.77ms    75.00%
`;

describe("h2load output", () => {
  it("gives the rate, the mean time, the calls and the calls that were not answered 2xx", () => {
    expect(parseH2load(SAMPLE)).toEqual({ rps: 10221, meanMs: 3.1, calls: 30664, errors: 64 });
  });

  it("refuses output without a summary (h2load could not connect)", () => {
    expect(() => parseH2load("starting benchmark...\nNo protocol negotiated. Aborted.\n")).toThrow(/not as expected/);
  });

  it("reads a process's CPU time from /proc on Linux", () => {
    const us = processCpuMicros(process.pid);
    if (process.platform !== "linux") expect(us).toBeUndefined();
    else expect(us).toBeGreaterThan(0);
  });
});
