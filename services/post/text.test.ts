import { describe, expect, it } from "vitest";
import { MAX_HASHTAGS, MAX_MENTIONS, parseHashtags, parseMentions } from "./text.js";

describe("parseHashtags", () => {
  it("keeps each tag once, lower-cased, without the #, in order of appearance", () => {
    expect(parseHashtags("Watching #Frieren and #anime, again #FRIEREN!")).toEqual(["frieren", "anime"]);
    expect(parseHashtags("no tags here")).toEqual([]);
    expect(parseHashtags("")).toEqual([]);
  });

  it("needs a word boundary before the #", () => {
    expect(parseHashtags("abc#def x_#y 9#z")).toEqual([]);
    expect(parseHashtags('(#one) [#two] "#three" #four. #five,#six')).toEqual([
      "one",
      "two",
      "three",
      "four",
      "five",
      "six",
    ]);
    expect(parseHashtags("line\n#start")).toEqual(["start"]);
    expect(parseHashtags("https://example.com/page#section")).toEqual([]);
  });

  it("ends at punctuation and at another #", () => {
    expect(parseHashtags("#tag! #tag2? #snake_case #with-dash")).toEqual(["tag", "tag2", "snake_case", "with"]);
    expect(parseHashtags("#one#two")).toEqual(["one"]);
    expect(parseHashtags("##double")).toEqual(["double"]);
  });

  it("needs at least one letter", () => {
    expect(parseHashtags("#1 #2024 #_ #__ #1_000")).toEqual([]);
    expect(parseHashtags("#1st #2024cup #_x")).toEqual(["1st", "2024cup", "_x"]);
    expect(parseHashtags("# alone #")).toEqual([]);
  });

  it("takes letters of any script, with their combining marks, NFC-normalised", () => {
    expect(parseHashtags("#日本語 #Ελλάδα #ÉCOLE #Straße")).toEqual(["日本語", "ελλάδα", "école", "straße"]);
    // Devanagari vowel signs and viramas are combining marks: part of the word.
    expect(parseHashtags("#हिन्दी दिवस")).toEqual(["हिन्दी"]);
    // "e" + combining acute is the same tag as the precomposed "é".
    expect(parseHashtags("#cafe\u0301 #café")).toEqual(["café"]);
  });

  it("ignores a run longer than 100 characters instead of truncating it", () => {
    expect(parseHashtags(`#${"a".repeat(100)}`)).toEqual(["a".repeat(100)]);
    expect(parseHashtags(`#${"a".repeat(101)} #ok`)).toEqual(["ok"]);
  });

  it(`keeps at most ${MAX_HASHTAGS}`, () => {
    const text = Array.from({ length: MAX_HASHTAGS + 5 }, (_, i) => `#t${i}`).join(" ");
    const tags = parseHashtags(text);
    expect(tags).toHaveLength(MAX_HASHTAGS);
    expect(tags[0]).toBe("t0");
    expect(tags.at(-1)).toBe(`t${MAX_HASHTAGS - 1}`);
  });
});

describe("parseMentions", () => {
  it("keeps each handle once (case-insensitively), as first written", () => {
    expect(parseMentions("hi @Bob and @cat, @bob again")).toEqual(["Bob", "cat"]);
    expect(parseMentions("nobody")).toEqual([]);
  });

  it("needs a word boundary before the @ and takes handles of 3 to 30 characters", () => {
    expect(parseMentions("mail me at ann@example.com")).toEqual([]);
    expect(parseMentions("@@double x@y _@under")).toEqual([]);
    expect(parseMentions("@ab @abc")).toEqual(["abc"]);
    expect(parseMentions(`@${"a".repeat(30)} @${"b".repeat(31)}`)).toEqual(["a".repeat(30)]);
    expect(parseMentions("(@paren) @dot. @comma, @bang!")).toEqual(["paren", "dot", "comma", "bang"]);
  });

  it("ends a handle at any character a handle cannot contain", () => {
    expect(parseMentions("@bob's @cat-dog @ann.lee")).toEqual(["bob", "cat", "ann"]);
    // Handles are ASCII: a following letter of another script ends the handle (as in "@bobさん").
    expect(parseMentions("@bobさん")).toEqual(["bob"]);
    // …but a letter or mark before the @ is still part of a word.
    expect(parseMentions("日本@bob e\u0301@cat")).toEqual([]);
  });

  it(`keeps at most ${MAX_MENTIONS}`, () => {
    const text = Array.from({ length: MAX_MENTIONS + 5 }, (_, i) => `@user${i}`).join(" ");
    expect(parseMentions(text)).toHaveLength(MAX_MENTIONS);
  });
});
