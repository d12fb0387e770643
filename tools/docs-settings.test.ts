import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ARCHITECTURE_DOC, expectedArchitectureDoc } from "./docs-settings.js";

describe("docs/architecture.md", () => {
  it("lists every setting as the platform and the services declare them (else: npm run docs:settings)", () => {
    expect(readFileSync(ARCHITECTURE_DOC, "utf8")).toBe(expectedArchitectureDoc());
  });
});
