/**
 * Text hygiene: what names and free text refuse, how they are normalised, and the UTS #39
 * skeleton that makes look-alike handles one handle — with the examples of issue 12 (NUL, bidi
 * override U+202E and zero-width characters in display names and posts; `aIice` beside `alice`).
 */
import { describe, expect, it } from "vitest";
import { CONFUSABLES_VERSION } from "../gen/unicode/confusables.js";
import { handleSkeleton, normaliseText, skeleton, textProblem } from "./text.js";

describe("names (handles, display names, titles)", () => {
  it.each([
    ["NUL", "ann\u0000", "U+0000 (NUL)"],
    ["a bidi override (U+202E)", "ann\u202Egnp.exe", "U+202E (bidi embedding/override)"],
    ["a bidi embedding (U+202A)", "\u202Aann", "U+202A (bidi embedding/override)"],
    ["a bidi isolate (U+2066)", "ann\u2066x\u2069", "U+2066 (bidi isolate)"],
    ["a zero-width space (U+200B)", "al\u200Bice", "U+200B (zero-width)"],
    ["a zero-width non-joiner (U+200C)", "al\u200Cice", "U+200C (zero-width)"],
    ["a zero-width joiner between letters (U+200D)", "al\u200Dice", "U+200D (zero-width)"],
    ["a word joiner (U+2060)", "al\u2060ice", "U+2060 (zero-width)"],
    ["a BOM (U+FEFF)", "\uFEFFalice", "U+FEFF (zero-width)"],
    ["a newline", "ann\nbob", "U+000A (control)"],
    ["a tab", "ann\tbob", "U+0009 (control)"],
    ["DEL", "ann\u007F", "U+007F (control)"],
    ["a C1 control", "ann\u0085", "U+0085 (control)"],
    ["a soft hyphen", "al\u00ADice", "U+00AD (invisible or format character)"],
    ["a line separator", "ann\u2028bob", "U+2028 (invisible or format character)"],
    ["a lone surrogate", "ann\uD800", "U+D800 (invisible or format character)"],
  ])("refuses %s", (_what, s, named) => {
    expect(textProblem("name", normaliseText("name", s))).toBe(`must not contain ${named}`);
  });

  it("accepts letters of any script, spaces, emoji and ZWJ inside an emoji sequence", () => {
    for (const s of ["Ann Lee", "Zoë", "東京の猫", "Ελένη", "ali 👩‍💻", "🏳️‍🌈 pride", "👩🏽‍🚀", "محمد"]) {
      expect(textProblem("name", normaliseText("name", s)), s).toBeUndefined();
    }
  });

  it("normalises NFKC: full-width letters, ligatures and compatibility forms become plain ones", () => {
    expect(normaliseText("name", "ａｌｉｃｅ")).toBe("alice");
    expect(normaliseText("name", "ﬁsh")).toBe("fish");
    expect(normaliseText("name", "Zoe\u0308")).toBe("Zoë");
  });
});

describe("free text (posts, comments, messages, bios)", () => {
  it.each([
    ["NUL", "hello\u0000world", "U+0000 (NUL)"],
    ["a bidi override (U+202E)", "see \u202Etxt.exe", "U+202E (bidi embedding/override)"],
    ["a bidi embedding (U+202B)", "\u202Bhi", "U+202B (bidi embedding/override)"],
    ["a BOM inside the text", "hi\uFEFFthere", "U+FEFF (zero-width)"],
    ["a vertical tab", "a\u000Bb", "U+000B (control)"],
    ["an escape", "a\u001B[31mred", "U+001B (control)"],
    ["a lone surrogate", "a\uDC00", "U+DC00 (invisible or format character)"],
  ])("refuses %s", (_what, s, named) => {
    expect(textProblem("free", normaliseText("free", s))).toBe(`must not contain ${named}`);
  });

  it("keeps newlines, tabs, isolates, LRM/RLM, ZWJ/ZWNJ and emoji sequences", () => {
    for (const s of [
      "line one\nline two\tend",
      "mixed \u2067עברית\u2069 text",
      "\u200Fשלום",
      "می\u200Cخواهم", // Persian needs ZWNJ
      "family 👨‍👩‍👧 and 🏳️‍🌈",
    ]) {
      expect(textProblem("free", normaliseText("free", s)), s).toBeUndefined();
    }
  });

  it("normalises NFC and CRLF/CR line ends, but keeps compatibility characters (x², ｶ)", () => {
    expect(normaliseText("free", "a\r\nb\rc")).toBe("a\nb\nc");
    expect(normaliseText("free", "e\u0301")).toBe("é");
    expect(normaliseText("free", "x² ｶ")).toBe("x² ｶ");
  });
});

describe("confusable skeleton (UTS #39)", () => {
  it("uses the vendored Unicode data", () => {
    expect(CONFUSABLES_VERSION).toBe("17.0.0");
    expect(skeleton("I")).toBe("l"); // confusables.txt: 0049 ; 006C (I → l)
    expect(skeleton("m")).toBe("rn"); // 006D ; 0072 006E
    expect(skeleton("раураl")).toBe(skeleton("paypal")); // Cyrillic р, а, у
  });

  it("gives aIice (capital I) the key of alice, and every case and digit look-alike too", () => {
    const alice = handleSkeleton("alice");
    for (const h of ["aIice", "Alice", "ALice", "a1ice", "AIice", "ａｌｉｃｅ"]) {
      expect(handleSkeleton(h), h).toBe(alice);
    }
    expect(handleSkeleton("b0b")).toBe(handleSkeleton("bob"));
    expect(handleSkeleton("rnary")).toBe(handleSkeleton("mary"));
  });

  it("keeps different handles apart", () => {
    expect(handleSkeleton("alice")).not.toBe(handleSkeleton("alicia"));
    expect(handleSkeleton("alice")).not.toBe(handleSkeleton("allce_"));
    expect(handleSkeleton("bob")).not.toBe(handleSkeleton("rob"));
  });
});
