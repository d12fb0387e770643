import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { SqlInputError } from "../storage/sql/input.js";
import { PageOptionError } from "../storage/sql/page.js";
import { DeleteLimitError } from "../storage/sql/query.js";
import { StoreUnavailableError } from "../storage/unavailable.js";
import { handlerError } from "./errors.js";

describe("handlerError", () => {
  it("answers the storage layer's bad-input errors with InvalidArgument and their message", () => {
    for (const err of [
      new SqlInputError("kitchen.slug: text of 65 characters is longer than the column's 64"),
      new PageOptionError("limit must be in 1..1000"),
      new DeleteLimitError("limit must be an integer in 1..10000"),
    ]) {
      const c = handlerError(err);
      expect(c.code).toBe(Code.InvalidArgument);
      expect(c.rawMessage).toBe(err.message);
      expect(c.cause).toBe(err);
    }
  });

  it("answers a store that is down with Unavailable, without naming its hosts", () => {
    const down = new StoreUnavailableError("cassandra", "Cassandra at 10.0.0.7:9042 is unavailable: all hosts tried");
    for (const err of [down, new Error("fan-out failed", { cause: down })]) {
      const c = handlerError(err);
      expect(c.code).toBe(Code.Unavailable);
      expect(c.rawMessage).toBe("a store this call needs is unavailable; retry later");
      expect(c.cause).toBe(err);
    }
  });

  it("hides anything else behind Internal", () => {
    const c = handlerError(new Error("secret"));
    expect(c).toBeInstanceOf(ConnectError);
    expect(c.code).toBe(Code.Internal);
    expect(c.rawMessage).toBe("internal error");
  });
});
