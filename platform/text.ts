/** Text measures shared by request validation and the DAOs' column checks. */

/** Characters (Unicode code points, as MySQL counts them for utf8mb4) in `s`. */
export function codePoints(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

// ── Text hygiene (docs/operations.md#text-hygiene) ──────────────────────────
//
// Two kinds of text enter through the API (the `text` option of a field's validate rules):
//  * names — handles, display names, titles, device names: one line, shown next to other names.
//    NFKC-normalised; refused: every control (Cc, NUL included), format character (Cf: bidi
//    embeddings, overrides, isolates and marks, zero-width space/joiners, word joiner, BOM, soft
//    hyphen, tags), line/paragraph separators and lone surrogates. A zero-width joiner is allowed
//    only inside an emoji ZWJ sequence (👩‍💻, 🏳️‍🌈), where it joins two pictographs.
//  * free text — posts, comments, chat messages, bios, reasons: NFC-normalised (NFKC would turn
//    "x²" into "x2" and "ｶﾀｶﾅ" widths around, which free text must keep), CRLF → LF; refused:
//    controls other than \n and \t (NUL included), bidi embeddings and overrides U+202A–202E (they
//    reorder what follows, the "Trojan source" trick), BOM/zero-width no-break space U+FEFF and
//    lone surrogates. Isolates U+2066–2069, LRM/RLM and ZWJ/ZWNJ stay: scripts and mixed-direction
//    text need them, and an isolate cannot leak past its paragraph.

import { CONFUSABLES_DATA } from "../gen/unicode/confusables.js";

export type TextKind = "name" | "free";

const ZWJ_IN_EMOJI = /(?<=\p{Extended_Pictographic}[\u{FE0F}\p{Emoji_Modifier}]*)\u200D(?=\p{Extended_Pictographic})/gu;
const NAME_REFUSED = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;
const FREE_REFUSED = /[\0-\x08\x0B-\x1F\x7F-\x9F\u202A-\u202E\uFEFF\p{Cs}]/u;

function describe(ch: string): string {
  const cp = ch.codePointAt(0)!;
  const hex = `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;
  if (cp === 0) return `${hex} (NUL)`;
  if (cp >= 0x202a && cp <= 0x202e) return `${hex} (bidi embedding/override)`;
  if (cp >= 0x2066 && cp <= 0x2069) return `${hex} (bidi isolate)`;
  if ((cp >= 0x200b && cp <= 0x200d) || cp === 0x2060 || cp === 0xfeff) return `${hex} (zero-width)`;
  if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) return `${hex} (control)`;
  return `${hex} (invisible or format character)`;
}

/** The normalised form of `s` for its kind (NFKC for names, NFC and LF line ends for free text). */
export function normaliseText(kind: TextKind, s: string): string {
  if (kind === "name") return s.normalize("NFKC");
  return s.replace(/\r\n?/g, "\n").normalize("NFC");
}

/**
 * What is wrong with `s` (already normalised) as text of `kind`, or undefined when it is
 * acceptable: names the first refused character by code point.
 */
export function textProblem(kind: TextKind, s: string): string | undefined {
  if (kind === "name") {
    const bad = NAME_REFUSED.exec(s.replace(ZWJ_IN_EMOJI, ""));
    return bad ? `must not contain ${describe(bad[0])}` : undefined;
  }
  const bad = FREE_REFUSED.exec(s);
  return bad ? `must not contain ${describe(bad[0])}` : undefined;
}

let confusables: Map<number, string> | undefined;

function confusableMap(): Map<number, string> {
  if (confusables) return confusables;
  const m = new Map<number, string>();
  for (const chunk of CONFUSABLES_DATA) {
    for (const entry of chunk.split(",")) {
      const [from, to] = entry.split(":");
      m.set(Number.parseInt(from!, 36), String.fromCodePoint(...to!.split(" ").map((t) => Number.parseInt(t, 36))));
    }
  }
  confusables = m;
  return m;
}

/**
 * The UTS #39 skeleton of `s` (https://www.unicode.org/reports/tr39/#def-skeleton): NFD, each
 * code point replaced by its prototype from confusables.txt, NFD again. Two strings are
 * confusable when their skeletons are equal.
 */
export function skeleton(s: string): string {
  const map = confusableMap();
  let out = "";
  for (const ch of s.normalize("NFD")) out += map.get(ch.codePointAt(0)!) ?? ch;
  return out.normalize("NFD");
}

/**
 * The key that makes handles unique up to case and confusables: the skeleton of the lower-cased
 * skeleton. The inner skeleton runs first because case hides confusables (`aIice`: capital I looks
 * like l, lower-case i does not), the outer one because lower-casing can make new ones. So
 * `alice`, `Alice`, `aIice` and `a1ice` share one key, `ALICE` and `AL1CE` another (`ALICE` and
 * `alice` are one handle already: handle_key is the lower-cased handle).
 */
export function handleSkeleton(handle: string): string {
  return skeleton(skeleton(handle.normalize("NFKC")).toLowerCase());
}
