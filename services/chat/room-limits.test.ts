/** RoomChatLimits over ctx.limits' own Limits (memory store, a clock in hand): slow mode, the per-user window, failed sends. */
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { Limits } from "../../platform/limits/limits.js";
import { MemoryLimitStore } from "../../platform/limits/store.js";
import { silentLogger } from "../../platform/log.js";
import { RoomChatLimits } from "./room-limits.js";

async function refusal(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    const e = ConnectError.from(err);
    expect(e.code).toBe(Code.ResourceExhausted);
    return e.rawMessage;
  }
}

function limits(now: () => number) {
  return new Limits(new MemoryLimitStore(), silentLogger(), undefined, now).view("chat");
}

/** Checks and counts one message (a send that went through). */
async function send(l: RoomChatLimits, conv: bigint, user: bigint, slowMs: number, host = false): Promise<void> {
  await (await l.check(undefined, conv, user, slowMs, host))();
}

describe("RoomChatLimits", () => {
  it("slow mode: one message per interval per member and room; the host is exempt", async () => {
    let now = 1_000_000;
    const l = new RoomChatLimits(
      limits(() => now),
      { messages: 100, windowMs: 10_000 },
    );
    await send(l, 1n, 7n, 5000);
    now += 4000;
    expect(await refusal(send(l, 1n, 7n, 5000))).toBe("slow mode: one message per 5 s in this room; try again in 1 s");
    await send(l, 2n, 7n, 5000); // another room
    await send(l, 1n, 8n, 5000); // another member
    await send(l, 1n, 9n, 5000, true); // the host
    await send(l, 1n, 9n, 5000, true);
    now += 1000;
    await send(l, 1n, 7n, 5000);
    await send(l, 3n, 7n, 0); // no slow mode
    await send(l, 3n, 7n, 0);
  });

  it("caps a user's messages per window across rooms", async () => {
    let now = 0;
    const l = new RoomChatLimits(
      limits(() => now),
      { messages: 3, windowMs: 10_000 },
    );
    await send(l, 1n, 7n, 0);
    now = 4000;
    await send(l, 2n, 7n, 0);
    await send(l, 3n, 7n, 0);
    expect(await refusal(send(l, 1n, 7n, 0))).toBe("too many messages: at most 3 per 10 s in rooms; try again in 6 s");
    await send(l, 1n, 8n, 0); // another user
    now = 10_000; // the window is over
    await send(l, 1n, 7n, 0);
  });

  it("a refused or failed send is not counted", async () => {
    const now = 0;
    const l = new RoomChatLimits(
      limits(() => now),
      { messages: 1, windowMs: 10_000 },
    );
    await l.check(undefined, 1n, 7n, 60_000, false); // checked, then the send failed: not counted
    await send(l, 1n, 7n, 60_000);
    expect(await refusal(send(l, 1n, 7n, 60_000))).toBeDefined();
  });
});
