/**
 * What a service sees of the event bus (`ctx.events`): publishing only, and
 * only the event types its definition declares in `publishes`. Publishing an
 * undeclared type rejects with EventBusConfigError naming the service and
 * the type, so the declarations `orbit services` prints are what the service
 * does. Consuming is declared, not called: a service returns its consumers
 * from `build`, and the kernel starts them (platform/kernel/parts/events.ts).
 */
import type { DescMessage } from "@bufbuild/protobuf";
import type { SqlTx } from "../storage/driver.js";
import type { EventBus, EventItem } from "./bus.js";
import type { EventInput } from "./encode.js";
import { EventBusConfigError } from "./errors.js";

export interface ServiceEvents {
  /** Publishes inside `tx`: the event exists if and only if the transaction commits. */
  publish<Desc extends DescMessage>(tx: SqlTx, schema: Desc, message: EventInput<Desc>): Promise<void>;
  /** Several events in one multi-row insert, inside `tx`. */
  publishMany(tx: SqlTx, items: readonly EventItem[]): Promise<void>;
  /**
   * Publishes outside any transaction (nothing to commit with it): batched
   * with other publishes; resolves once the event is durable.
   */
  publishOutsideTx<Desc extends DescMessage>(schema: Desc, message: EventInput<Desc>): Promise<void>;
}

export interface EventPublisher {
  readonly name: string;
  readonly publishes: readonly DescMessage[];
}

export function serviceEvents(bus: EventBus, service: EventPublisher): ServiceEvents {
  const declared = new Set(service.publishes);
  const names = new Set(service.publishes.map((s) => s.typeName));
  const refuse = (schema: DescMessage | undefined): EventBusConfigError | undefined => {
    // The common case is one Set lookup by object; a schema loaded twice still matches by name.
    if (schema !== undefined && (declared.has(schema) || names.has(schema.typeName))) return undefined;
    return new EventBusConfigError(
      `service ${service.name} publishes ${schema?.typeName} but does not declare it in \`publishes\` (declared: ${
        [...names].join(", ") || "none"
      })`,
    );
  };
  return {
    publish(tx, schema, message) {
      const err = refuse(schema);
      return err ? Promise.reject(err) : bus.publish(tx, schema, message);
    },
    publishMany(tx, items) {
      for (const i of items) {
        const err = refuse(i.schema);
        if (err) return Promise.reject(err);
      }
      return bus.publishMany(tx, items);
    },
    publishOutsideTx(schema, message) {
      const err = refuse(schema);
      return err ? Promise.reject(err) : bus.publish(schema, message);
    },
  };
}
