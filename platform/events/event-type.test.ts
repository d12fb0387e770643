import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import type { DescMessage } from "@bufbuild/protobuf";
import { compileProto } from "../../test/support/compile-proto.js";
import {
  ContractBadKeySchema,
  ContractCountedSchema,
  ContractHappenedSchema,
  ContractNotAnEventSchema,
  ContractUnkeyedSchema,
} from "../../gen/orbit/contract/v1/events_pb.js";
import { EventDefinitionError, UnknownTopicError } from "./errors.js";
import { eventType } from "./event-type.js";
import { EventRegistry } from "./registry.js";

describe("eventType", () => {
  it("reads topic and key field from the event option", () => {
    const t = eventType(ContractHappenedSchema);
    expect(t.topic).toBe("contract.happened");
    expect(t.typeName).toBe("orbit.contract.v1.ContractHappened");
    expect(t.keyOf(create(ContractHappenedSchema, { key: "user-1" }))).toBe("user-1");
    expect(eventType(ContractCountedSchema).keyOf(create(ContractCountedSchema, { accountId: 42n }))).toBe("42");
    expect(eventType(ContractUnkeyedSchema).keyField).toBeUndefined();
    expect(eventType(ContractUnkeyedSchema).keyOf(create(ContractUnkeyedSchema, { note: "x" }))).toBe("");
    expect(eventType(ContractHappenedSchema)).toBe(t); // cached
  });

  it("rejects a message without the event option, naming the option to add", () => {
    expect(() => eventType(ContractNotAnEventSchema)).toThrow(EventDefinitionError);
    expect(() => eventType(ContractNotAnEventSchema)).toThrow(
      /orbit\.contract\.v1\.ContractNotAnEvent is not an event: it has no \(orbit\.options\.v1\.event\) option/,
    );
  });

  it("rejects a key_field that is not a field", () => {
    expect(() => eventType(ContractBadKeySchema)).toThrow(
      /key_field "missing" is not a field of the message \(fields: note\)/,
    );
  });

  it("rejects something that is not a message schema", () => {
    expect(() => eventType({} as DescMessage)).toThrow(/expected a message schema/);
    expect(() => eventType(undefined as unknown as DescMessage)).toThrow(EventDefinitionError);
  });

  it("rejects bad topics and non-scalar key fields; a topic carries one type", () => {
    const { registry } = compileProto({
      "demo/v1/events.proto": `
        syntax = "proto3";
        package demo.v1;
        import "orbit/options/v1/options.proto";
        message Inner { string a = 1; }
        message BadTopic { option (orbit.options.v1.event) = { topic: "Post Created!" }; string a = 1; }
        message NoTopic { option (orbit.options.v1.event) = { key_field: "a" }; string a = 1; }
        message ListKey { option (orbit.options.v1.event) = { topic: "demo.list" key_field: "a" }; repeated string a = 1; }
        message MsgKey { option (orbit.options.v1.event) = { topic: "demo.msg" key_field: "a" }; Inner a = 1; }
        message First { option (orbit.options.v1.event) = { topic: "demo.same" }; string a = 1; }
        message Second { option (orbit.options.v1.event) = { topic: "demo.same" }; string a = 1; }
      `,
    });
    const msg = (name: string) => registry.getMessage(`demo.v1.${name}`)!;
    expect(() => eventType(msg("BadTopic"))).toThrow(/topic "Post Created!" is not valid/);
    expect(() => eventType(msg("NoTopic"))).toThrow(/the event option has no topic/);
    expect(() => eventType(msg("ListKey"))).toThrow(/key_field "a" must be a plain scalar or enum field/);
    expect(() => eventType(msg("MsgKey"))).toThrow(/must be a plain scalar or enum field/);
    const reg = new EventRegistry([msg("First")]);
    expect(() => reg.add(msg("Second"))).toThrow(
      /topic "demo.same" is declared by both demo.v1.First and demo.v1.Second/,
    );
  });
});

describe("EventRegistry", () => {
  it("finds types by topic and names the known topics for an unknown one", () => {
    const reg = new EventRegistry([ContractHappenedSchema, ContractCountedSchema]);
    expect(reg.byTopic("contract.counted").schema).toBe(ContractCountedSchema);
    expect(() => reg.byTopic("contract.nope")).toThrow(UnknownTopicError);
    expect(() => reg.byTopic("contract.nope")).toThrow(
      'unknown topic "contract.nope": no registered event type publishes it (known topics: contract.counted, contract.happened)',
    );
  });
});
