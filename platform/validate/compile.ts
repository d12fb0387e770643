/**
 * Request validation from the proto: fields carry `(orbit.options.v1.validate)`
 * rules (required, min_len/max_len, max_bytes, pattern, min/max, text). The rules
 * are read by reflection once per message type and compiled into a checker
 * that names the offending field. Nested messages are checked too.
 *
 * A string field with a `text` kind (TEXT_KIND_NAME / TEXT_KIND_FREE) is first
 * normalised in place (platform/text.ts: NFKC for names, NFC for free text),
 * so the handler, the length rules and the pattern see the normalised value,
 * and then refused if it carries characters its kind must not.
 */
import { ScalarType, getOption, hasOption } from "@bufbuild/protobuf";
import { codePoints, normaliseText, textProblem, type TextKind as Kind } from "../text.js";
import type { DescField, DescMessage, Message } from "@bufbuild/protobuf";
import { TextKind, validate as validateExt } from "../../gen/orbit/options/v1/options_pb.js";
import type { FieldRules } from "../../gen/orbit/options/v1/options_pb.js";

/** One violation: the field path (proto names, dotted) and what is wrong. */
export interface Violation {
  readonly field: string;
  readonly message: string;
}

type Check = (msg: Record<string, unknown>, path: string, out: Violation[]) => void;

const cache = new WeakMap<DescMessage, Check>();

function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null) return true;
  if (typeof v === "string" || v instanceof Uint8Array || Array.isArray(v)) return v.length === 0;
  if (typeof v === "number" || typeof v === "bigint") return v == 0;
  if (typeof v === "boolean") return !v;
  if (typeof v === "object") return Object.keys(v).length === 0;
  return false;
}

function fieldCheck(field: DescField, rules: FieldRules): Check {
  const name = field.name;
  const local = field.localName;
  const pattern = rules.pattern ? new RegExp(rules.pattern, "u") : undefined;
  const isList = field.fieldKind === "list";
  const isString = field.fieldKind === "scalar" && field.scalar === ScalarType.STRING;
  const isBytes = field.fieldKind === "scalar" && field.scalar === ScalarType.BYTES;
  const oneof = field.oneof;
  const kind: Kind | undefined =
    rules.text === TextKind.NAME ? "name" : rules.text === TextKind.FREE ? "free" : undefined;
  const textKind =
    isString || (isList && field.listKind === "scalar" && field.scalar === ScalarType.STRING) ? kind : undefined;
  return (msg, path, out) => {
    const at = path ? `${path}.${name}` : name;
    let v: unknown;
    if (oneof) {
      const sel = msg[oneof.localName] as { case?: string; value?: unknown } | undefined;
      v = sel?.case === local ? sel.value : undefined;
      if (v === undefined) return; // a oneof member that is not set: nothing to check
      if (textKind && typeof v === "string") v = sel!.value = normaliseText(textKind, v);
    } else {
      v = msg[local];
      if (textKind && typeof v === "string") v = msg[local] = normaliseText(textKind, v);
    }
    if (textKind && Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        if (typeof v[i] !== "string") continue;
        v[i] = normaliseText(textKind, v[i]);
        const problem = textProblem(textKind, v[i]);
        if (problem) out.push({ field: `${at}[${i}]`, message: problem });
      }
    }
    if (rules.required && isEmpty(v)) {
      out.push({ field: at, message: "is required" });
      return;
    }
    if (isString && typeof v === "string") {
      const len = rules.minLen || rules.maxLen ? codePoints(v) : 0;
      if (rules.minLen && len < rules.minLen && len > 0)
        out.push({ field: at, message: `must be at least ${rules.minLen} characters` });
      if (rules.maxLen && len > rules.maxLen)
        out.push({ field: at, message: `must be at most ${rules.maxLen} characters` });
      if (rules.maxBytes && Buffer.byteLength(v) > rules.maxBytes)
        out.push({ field: at, message: `must be at most ${rules.maxBytes} bytes` });
      if (pattern && v.length > 0 && !pattern.test(v)) out.push({ field: at, message: `must match ${rules.pattern}` });
      if (textKind) {
        const problem = textProblem(textKind, v);
        if (problem) out.push({ field: at, message: problem });
      }
    } else if (isBytes && v instanceof Uint8Array) {
      if (rules.maxBytes && v.length > rules.maxBytes)
        out.push({ field: at, message: `must be at most ${rules.maxBytes} bytes` });
      if (rules.maxLen && v.length > rules.maxLen)
        out.push({ field: at, message: `must be at most ${rules.maxLen} bytes` });
    } else if (isList && Array.isArray(v)) {
      if (rules.minLen && v.length < rules.minLen)
        out.push({ field: at, message: `must have at least ${rules.minLen} items` });
      if (rules.maxLen && v.length > rules.maxLen)
        out.push({ field: at, message: `must have at most ${rules.maxLen} items` });
    } else if (typeof v === "number" || typeof v === "bigint") {
      const n = BigInt(v);
      if (rules.min !== undefined && n < rules.min) out.push({ field: at, message: `must be at least ${rules.min}` });
      if (rules.max !== undefined && n > rules.max) out.push({ field: at, message: `must be at most ${rules.max}` });
    }
  };
}

/** The checker of a message type (compiled once, then cached). */
export function checkerOf(desc: DescMessage): Check {
  let check = cache.get(desc);
  if (check) return check;
  const checks: Check[] = [];
  // Placeholder against recursive message types while compiling.
  cache.set(desc, (m, p, o) => {
    for (const c of checks) c(m, p, o);
  });
  for (const field of desc.fields) {
    if (hasOption(field, validateExt)) checks.push(fieldCheck(field, getOption(field, validateExt)));
    if (field.fieldKind === "message") {
      const sub = checkerOf(field.message);
      const local = field.localName;
      const name = field.name;
      const oneof = field.oneof;
      checks.push((msg, path, out) => {
        let v: unknown;
        if (oneof) {
          const sel = msg[oneof.localName] as { case?: string; value?: unknown } | undefined;
          v = sel?.case === local ? sel.value : undefined;
        } else v = msg[local];
        if (v && typeof v === "object") sub(v as Record<string, unknown>, path ? `${path}.${name}` : name, out);
      });
    } else if (field.fieldKind === "list" && field.listKind === "message") {
      const sub = checkerOf(field.message);
      const local = field.localName;
      const name = field.name;
      checks.push((msg, path, out) => {
        const list = msg[local] as unknown[] | undefined;
        list?.forEach((item, i) => sub(item as Record<string, unknown>, `${path ? `${path}.` : ""}${name}[${i}]`, out));
      });
    }
  }
  check = (m, p, o) => {
    for (const c of checks) c(m, p, o);
  };
  cache.set(desc, check);
  return check;
}

/** Every rule the message breaks (empty when valid). */
export function violations(desc: DescMessage, message: Message): Violation[] {
  const out: Violation[] = [];
  checkerOf(desc)(message as unknown as Record<string, unknown>, "", out);
  return out;
}
