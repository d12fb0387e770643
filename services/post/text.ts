/**
 * Hashtags and @mentions in post text. A hashtag is `#` followed by letters,
 * digits or `_` (any script), kept lower-cased without the `#`; a mention is
 * `@handle`. Both must start at a word boundary; each is kept once.
 */
const HASHTAG = /(?<![\p{L}\p{N}_])#([\p{L}\p{N}_]{1,100})/gu;
const MENTION = /(?<![\p{L}\p{N}_@])@([A-Za-z0-9_]{3,30})(?![A-Za-z0-9_])/gu;

export const MAX_HASHTAGS = 30;
export const MAX_MENTIONS = 20;

export function parseHashtags(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(HASHTAG)) {
    const tag = m[1]!.toLowerCase();
    if (/^\d+$/.test(tag)) continue; // "#1" is not a hashtag
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
