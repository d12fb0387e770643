/** Bad input gets a clear error and leaves nothing behind in the log. */
import { afterEach, describe, expect, it } from "vitest";
import { create, type DescMessage } from "@bufbuild/protobuf";
import { ENGINES, type TestStore } from "../../test/support/stores.js";
import { ContractHappenedSchema, ContractNotAnEventSchema } from "../../gen/orbit/contract/v1/events_pb.js";
import { EventBus } from "./bus.js";
import {
  EventBusClosedError,
  EventBusConfigError,
  EventDefinitionError,
  EventTooLargeError,
  UnknownGroupError,
  UnknownTopicError,
} from "./errors.js";
import { silentLogger } from "./logger.js";
import { LOG } from "./tables.js";
import { waitFor } from "../../test/support/wait.js";

describe.each(ENGINES)("bad input on $name", ({ open }) => {
  let store: TestStore;
  let bus: EventBus;
  afterEach(async () => {
    await bus?.close();
    await store.dispose();
  });
  const logSize = async () => Number((await store.db.get<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${LOG}`))!.n);

  it("refuses to publish a message without the event option, in or out of a transaction", async () => {
    store = await open();
    bus = await EventBus.open(store.db, { logger: silentLogger });
    await expect(bus.publish(ContractNotAnEventSchema, { note: "x" })).rejects.toThrow(EventDefinitionError);
    await expect(
      store.db.transaction((tx) => bus.publish(tx, ContractNotAnEventSchema, { note: "x" })),
    ).rejects.toThrow(/has no \(orbit\.options\.v1\.event\) option/);
    await expect(bus.publish({} as DescMessage, {})).rejects.toThrow(/expected a message schema/);
    await expect(
      bus.publish(ContractHappenedSchema, create(ContractNotAnEventSchema, { note: "x" }) as never),
    ).rejects.toThrow(
      "publish: the message is a orbit.contract.v1.ContractNotAnEvent, not a orbit.contract.v1.ContractHappened",
    );
    expect(await logSize()).toBe(0);
  });

  it("refuses oversized payloads and keys with the sizes in the message", async () => {
    store = await open();
    bus = await EventBus.open(store.db, { logger: silentLogger, maxPayloadBytes: 1024 });
    await expect(bus.publish(ContractHappenedSchema, { key: "k", body: new Uint8Array(2000) })).rejects.toThrow(
      EventTooLargeError,
    );
    await expect(bus.publish(ContractHappenedSchema, { key: "k", body: new Uint8Array(2000) })).rejects.toThrow(
      /encodes to 200\d bytes, over the bus limit of 1024 bytes/,
    );
    await expect(bus.publish(ContractHappenedSchema, { key: "k".repeat(300) })).rejects.toThrow(
      /ordering key from field "key" is 300 bytes, over 255/,
    );
    await bus.publish(ContractHappenedSchema, { key: "k", body: new Uint8Array(900) }); // under the limit
    expect(await logSize()).toBe(1);
  });

  it("refuses consumers of unknown topics and inconsistent consumer options", async () => {
    store = await open();
    bus = await EventBus.open(store.db, { logger: silentLogger, events: [ContractHappenedSchema] });
    const handle = () => undefined;
    expect(() => bus.consume({ group: "g", events: ["contract.nope"], handle })).toThrow(UnknownTopicError);
    expect(() => bus.consume({ group: "g", events: ["contract.nope"], handle })).toThrow(
      /unknown topic "contract.nope".*known topics: contract.happened/,
    );
    expect(() => bus.consume({ group: "g", events: [ContractNotAnEventSchema], handle })).toThrow(EventDefinitionError);
    expect(() => bus.consume({ group: "g", events: [], handle })).toThrow(/at least one event type/);
    expect(() => bus.consume({ group: "g", events: ["contract.happened"] })).toThrow(
      /exactly one of `handle` or `handleBatch`/,
    );
    expect(() => bus.consume({ group: "bad name!", events: ["contract.happened"], handle })).toThrow(
      EventBusConfigError,
    );
    expect(() => bus.consume({ group: "g", events: ["contract.happened"], handle, concurrency: 4 })).toThrow(
      /concurrency > 1 needs commit: "after"/,
    );
    expect(() => bus.consume({ group: "g", events: ["contract.happened"], handle, batchSize: 0 })).toThrow(
      /batchSize must be an integer >= 1/,
    );
    bus.consume({ group: "g", events: ["contract.happened"], handle });
    expect(() => bus.consume({ group: "g", events: ["contract.happened"], handle })).toThrow(
      /already consumed by this bus/,
    );
  });

  it("parks an event whose transactional handler reaches for ctx.db, saying to use ctx.tx", async () => {
    store = await open();
    bus = await EventBus.open(store.db, { logger: silentLogger });
    bus.consume({
      group: "g",
      events: [ContractHappenedSchema],
      maxAttempts: 1,
      handle: (_e, ctx) => ctx.db.run("SELECT 1"),
    });
    await bus.publish(ContractHappenedSchema, { key: "k" });
    await waitFor(async () => (await bus.deadLetters("g")).length === 1, "the dead letter");
    expect((await bus.deadLetters("g"))[0]!.error).toContain(
      'use ctx.tx, not ctx.db, in a handler with commit: "transaction"',
    );
  });

  it("names unknown groups and out-of-range replay positions", async () => {
    store = await open();
    bus = await EventBus.open(store.db, { logger: silentLogger });
    await expect(bus.replay("nope", 1n)).rejects.toThrow(UnknownGroupError);
    await expect(bus.retryDeadLetters("nope")).rejects.toThrow(/unknown consumer group "nope"/);
    bus.consume({ group: "g", events: [ContractHappenedSchema], handle: () => undefined });
    await bus.publish(ContractHappenedSchema, { key: "k" });
    await expect(bus.replay("g", 99n)).rejects.toThrow(/cannot replay group "g" from event 99: the log ends at/);
  });

  it("refuses work once closed, and bad options at open", async () => {
    store = await open();
    bus = await EventBus.open(store.db, { logger: silentLogger });
    await bus.close();
    await expect(bus.publish(ContractHappenedSchema, { key: "k" })).rejects.toThrow(EventBusClosedError);
    expect(() => bus.consume({ group: "g", events: [ContractHappenedSchema], handle: () => undefined })).toThrow(
      EventBusClosedError,
    );
    await expect(EventBus.open(store.db, { owner: "" })).rejects.toThrow(/owner must be 1..255 characters/);
    await expect(store.db.transaction(async () => bus.publishMany({} as never, []))).rejects.toThrow();
  });
});
