import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  SignUpRequestSchema,
  GetProfileRequestSchema,
  GetUsersRequestSchema,
  UpdateProfileRequestSchema,
} from "../../gen/orbit/user/v1/user_pb.js";
import { CreatePostRequestSchema, ListUserPostsRequestSchema } from "../../gen/orbit/post/v1/post_pb.js";
import { violations } from "./compile.js";
import { assertValid } from "./errors.js";

describe("validation from proto rules", () => {
  it("accepts a valid message", () => {
    expect(
      violations(SignUpRequestSchema, create(SignUpRequestSchema, { handle: "kaori_99", password: "correct horse" })),
    ).toEqual([]);
  });

  it("names every offending field", () => {
    const v = violations(
      SignUpRequestSchema,
      create(SignUpRequestSchema, { handle: "a b", password: "short", displayName: "x".repeat(65) }),
    );
    expect(v).toEqual([
      { field: "handle", message: "must match ^[A-Za-z0-9_]+$" },
      { field: "password", message: "must be at least 8 characters" },
      { field: "display_name", message: "must be at most 64 characters" },
    ]);
  });

  it("checks required fields, lengths in characters, list sizes and numeric bounds", () => {
    expect(violations(SignUpRequestSchema, create(SignUpRequestSchema, {}))).toEqual([
      { field: "handle", message: "is required" },
      { field: "password", message: "is required" },
    ]);
    // Lengths count characters, not UTF-16 units: 64 emoji fit max_len 64.
    expect(
      violations(
        SignUpRequestSchema,
        create(SignUpRequestSchema, { handle: "abc", password: "12345678", displayName: "🚀".repeat(64) }),
      ),
    ).toEqual([]);
    expect(
      violations(
        CreatePostRequestSchema,
        create(CreatePostRequestSchema, { mediaIds: Array.from({ length: 11 }, (_, i) => BigInt(i)) }),
      ),
    ).toEqual([{ field: "media_ids", message: "must have at most 10 items" }]);
    expect(
      violations(ListUserPostsRequestSchema, create(ListUserPostsRequestSchema, { userId: 1n, pageSize: 101 })),
    ).toEqual([{ field: "page_size", message: "must be at most 100" }]);
    expect(
      violations(ListUserPostsRequestSchema, create(ListUserPostsRequestSchema, { userId: 1n, pageSize: -1 })),
    ).toEqual([{ field: "page_size", message: "must be at least 0" }]);
    expect(violations(UpdateProfileRequestSchema, create(UpdateProfileRequestSchema, { avatarMediaId: -5n }))).toEqual([
      { field: "avatar_media_id", message: "must be at least 0" },
    ]);
  });

  it("checks the selected member of a oneof only", () => {
    expect(
      violations(
        GetProfileRequestSchema,
        create(GetProfileRequestSchema, { who: { case: "handle", value: "x".repeat(31) } }),
      ),
    ).toEqual([{ field: "handle", message: "must be at most 30 characters" }]);
    expect(
      violations(GetProfileRequestSchema, create(GetProfileRequestSchema, { who: { case: "userId", value: 5n } })),
    ).toEqual([]);
  });

  it("throws InvalidArgument naming the fields", () => {
    let err: unknown;
    try {
      assertValid(SignUpRequestSchema, create(SignUpRequestSchema, { handle: "ok_handle" }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    expect((err as ConnectError).rawMessage).toBe("invalid SignUpRequest: password is required");
  });
});

describe("text rules (TEXT_KIND_NAME / TEXT_KIND_FREE)", () => {
  it("normalises a name in place before the length and pattern rules (full-width handle → ASCII)", () => {
    const req = create(SignUpRequestSchema, { handle: "ａｌｉｃｅ", password: "correct horse", displayName: "ﬁona" });
    expect(violations(SignUpRequestSchema, req)).toEqual([]);
    expect(req.handle).toBe("alice");
    expect(req.displayName).toBe("fiona");
  });

  it("refuses NUL, bidi overrides and zero-width characters in display names, naming the character", () => {
    for (const [displayName, named] of [
      ["ann\u0000", "U+0000 (NUL)"],
      ["ann\u202Egnp", "U+202E (bidi embedding/override)"],
      ["an\u200Bn", "U+200B (zero-width)"],
    ] as const) {
      expect(() =>
        assertValid(UpdateProfileRequestSchema, create(UpdateProfileRequestSchema, { displayName })),
      ).toThrow(`invalid UpdateProfileRequest: display_name must not contain ${named}`);
    }
  });

  it("refuses NUL and bidi overrides in posts but keeps newlines, tabs and emoji ZWJ sequences", () => {
    expect(violations(CreatePostRequestSchema, create(CreatePostRequestSchema, { text: "a\u0000b" }))).toEqual([
      { field: "text", message: "must not contain U+0000 (NUL)" },
    ]);
    expect(violations(CreatePostRequestSchema, create(CreatePostRequestSchema, { text: "x\u202Ey" }))).toEqual([
      { field: "text", message: "must not contain U+202E (bidi embedding/override)" },
    ]);
    const ok = create(CreatePostRequestSchema, { text: "one\r\ntwo\tthree 👩‍💻" });
    expect(violations(CreatePostRequestSchema, ok)).toEqual([]);
    expect(ok.text).toBe("one\ntwo\tthree 👩‍💻");
  });

  it("checks each string of a repeated field and a oneof member", () => {
    const v = violations(
      GetProfileRequestSchema,
      create(GetProfileRequestSchema, { who: { case: "handle", value: "al\u200Dice" } }),
    );
    expect(v).toEqual([{ field: "handle", message: "must not contain U+200D (zero-width)" }]);
    const req = create(GetProfileRequestSchema, { who: { case: "handle", value: "ａｌｉｃｅ" } });
    expect(violations(GetProfileRequestSchema, req)).toEqual([]);
    expect(req.who.value).toBe("alice");
    const many = create(GetUsersRequestSchema, { handles: ["ｂｏｂ", "ann\u0000"] });
    expect(violations(GetUsersRequestSchema, many)).toEqual([
      { field: "handles[1]", message: "must not contain U+0000 (NUL)" },
    ]);
    expect(many.handles[0]).toBe("bob");
  });
});
