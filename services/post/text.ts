/**
 * Hashtags and @mentions in post text. A hashtag is `#` followed by up to
 * 100 letters (with their combining marks), digits or `_` (any script), with
 * at least one letter; it is kept NFC-normalised and lower-cased without the
 * `#`, and a longer run is not a hashtag (rather than a truncated one). A
 * mention is `@handle` (3 to 30 of A-Z, a-z, 0-9, `_`). Both must start at a
 * word boundary; each is kept once.
 */
const WORD = String.raw`\p{L}\p{M}\p{N}_`;
const HASHTAG = new RegExp(String.raw`(?<![${WORD}])#([${WORD}]{1,100})(?![${WORD}])`, "gu");
const MENTION = new RegExp(String.raw`(?<![${WORD}@])@([A-Za-z0-9_]{3,30})(?![A-Za-z0-9_])`, "gu");
const LETTER = /\p{L}/u;

export const MAX_HASHTAGS = 30;
export const MAX_MENTIONS = 20;

export function parseHashtags(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.normalize("NFC").matchAll(HASHTAG)) {
    const tag = m[1]!.toLowerCase();
    if (!LETTER.test(tag)) continue; // "#1" and "#_" are not hashtags
    out.add(tag);
    if (out.size === MAX_HASHTAGS) break;
  }
  return [...out];
}

export function parseMentions(text: string): string[] {
  const out = new Map<string, string>();
  for (const m of text.matchAll(MENTION)) {
    const key = m[1]!.toLowerCase();
    if (!out.has(key)) out.set(key, m[1]!);
    if (out.size === MAX_MENTIONS) break;
  }
  return [...out.values()];
}
