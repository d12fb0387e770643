/** RoomChatLimits with a clock in hand: slow mode per member and room, the per-user rate window, undo. */
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { RoomChatLimits } from "./room-limits.js";

function refusal(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    const e = ConnectError.from(err);
    expect(e.code).toBe(Code.ResourceExhausted);
    return e.rawMessage;
  }
}

describe("RoomChatLimits", () => {
  it("slow mode: one message per interval per member and room; the host is exempt", () => {
    let now = 1_000_000;
    const l = new RoomChatLimits({ messages: 100, windowMs: 10_000 }, () => now);
    l.admit(1n, 7n, 5000, false);
    now += 4000;
    expect(refusal(() => l.admit(1n, 7n, 5000, false))).toBe(
      "slow mode: wait 1 s before your next message in this room",
    );
    l.admit(2n, 7n, 5000, false); // another room
    l.admit(1n, 8n, 5000, false); // another member
    l.admit(1n, 9n, 5000, true); // the host
    l.admit(1n, 9n, 5000, true);
    now += 1000;
    l.admit(1n, 7n, 5000, false);
    l.admit(3n, 7n, 0, false); // no slow mode
    l.admit(3n, 7n, 0, false);
  });

  it("caps a user's messages per window across rooms, the window sliding", () => {
    let now = 0;
    const l = new RoomChatLimits({ messages: 3, windowMs: 10_000 }, () => now);
    l.admit(1n, 7n, 0, false);
    now = 4000;
    l.admit(2n, 7n, 0, false);
    l.admit(3n, 7n, 0, false);
    expect(refusal(() => l.admit(1n, 7n, 0, false))).toMatch(
      /^too many messages: at most 3 per 10 s in rooms; wait 6 s$/,
    );
    l.admit(1n, 8n, 0, false); // another user
    now = 10_000; // the first one left the window
    l.admit(1n, 7n, 0, false);
    expect(refusal(() => l.admit(1n, 7n, 0, false))).toBeDefined();
  });

  it("gives the slot back when the send fails", () => {
    const now = 0;
    const l = new RoomChatLimits({ messages: 1, windowMs: 10_000 }, () => now);
    const undo = l.admit(1n, 7n, 60_000, false);
    expect(refusal(() => l.admit(1n, 7n, 60_000, false))).toBeDefined();
    undo();
    l.admit(1n, 7n, 60_000, false);
  });
});
