import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { namesOf } from "./names.js";
import { addToRegistry } from "./registry-edit.js";

const REGISTRY = readFileSync(new URL("../../services/registry.ts", import.meta.url), "utf8");

const SMALL = `import { Registry } from "../platform/kernel/registry.js";
import { defineGroup, type ModuleDef } from "../platform/kernel/service.js";
import { feed } from "./feed/service.js";
import { user } from "./user/service.js";

// The table.
export const MODULES: readonly ModuleDef[] = [
  defineGroup("all", "every product service", ["feed", "user"]),
  feed,
  user, // keeps this comment
];

export const registry = new Registry(MODULES);
`;

describe("adding a service to the registry", () => {
  it("imports it, puts it in the table by name and in the all group, and leaves the rest as it was", () => {
    expect(
      addToRegistry(SMALL, namesOf("post-search")),
    ).toBe(`import { Registry } from "../platform/kernel/registry.js";
import { defineGroup, type ModuleDef } from "../platform/kernel/service.js";
import { feed } from "./feed/service.js";
import { postSearch } from "./post-search/service.js";
import { user } from "./user/service.js";

// The table.
export const MODULES: readonly ModuleDef[] = [
  defineGroup("all", "every product service", ["feed", "post-search", "user"]),
  feed,
  postSearch,
  user, // keeps this comment
];

export const registry = new Registry(MODULES);
`);
  });

  it("places it first or last when its name sorts so", () => {
    const first = addToRegistry(SMALL, namesOf("chat"));
    expect(first).toContain('import { chat } from "./chat/service.js";\nimport { feed }');
    expect(first).toContain('["chat", "feed", "user"]');
    expect(first.indexOf("  chat,")).toBeLessThan(first.indexOf("  feed,"));
    const last = addToRegistry(SMALL, namesOf("zines"));
    expect(last).toContain('import { user } from "./user/service.js";\nimport { zines } from "./zines/service.js";');
    expect(last).toContain('["feed", "user", "zines"]');
  });

  it("keeps services/registry.ts sorted, groups included", () => {
    const out = addToRegistry(REGISTRY, namesOf("chatbot"));
    const table = out.slice(out.indexOf("MODULES"));
    const order = [
      "all",
      "chat",
      "chatbot",
      "echo",
      "feed",
      "graph",
      "live",
      "post",
      "relay",
      "social",
      "testing",
      "user",
    ];
    const at = order.map((name) => table.search(new RegExp(`^\\s+(${name},|defineGroup\\("${name}")`, "m")));
    expect(at.every((i) => i > 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    // In the `all` group too, in its place by name (whatever else the group holds).
    const list = /defineGroup\("all", "[^"]*", (\[[^\]]*\])\)/.exec(out)![1]!.replace(/,\s*\]$/, "]");
    const all = JSON.parse(list) as string[];
    expect(all).toContain("chatbot");
    expect([...all].sort()).toEqual(all);
  });

  it("refuses a service that is there already", () => {
    expect(() => addToRegistry(SMALL, namesOf("feed"))).toThrow("already imports ./feed/service.js");
    expect(() =>
      addToRegistry(SMALL.replace('import { feed } from "./feed/service.js";\n', ""), namesOf("feed")),
    ).toThrow("already has a module named feed");
    expect(() => namesOf("Chat")).toThrow("is not a service name");
    expect(() => namesOf("chat-")).toThrow("is not a service name");
  });
});
