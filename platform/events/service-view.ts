/**
 * What a service sees as `ctx.events`: the bundle's bus, limited to the event
 * types its definition declares (`publishes`, `consumes`, as message type
 * names). Publishing or consuming an undeclared type throws
 * EventBusConfigError naming the service and the type, so the declarations
 * that `orbit services` prints are what the service really does.
 */
import type { DescMessage } from "@bufbuild/protobuf";
import type { EventBus, EventItem } from "./bus.js";
import type { ConsumerOptions } from "./consumer-options.js";
import { isSqlTx } from "../storage/driver.js";
import { EventBusConfigError } from "./errors.js";

export interface EventDeclarations {
  readonly name: string;
  readonly publishes: readonly string[];
  readonly consumes: readonly string[];
}

export function serviceEventView(bus: EventBus, service: EventDeclarations): EventBus {
  const publishes = new Set(service.publishes);
  const consumes = new Set(service.consumes);
  const refuse = (verb: string, list: string, typeName: string) =>
    new EventBusConfigError(
      `service ${service.name} ${verb} ${typeName} but does not declare it in \`${list}\` (declared: ${
        [...(list === "publishes" ? publishes : consumes)].join(", ") || "none"
      })`,
    );
  const checkPublish = (schema: DescMessage | undefined) => {
    const typeName = schema?.typeName;
    if (typeName !== undefined && !publishes.has(typeName)) throw refuse("publishes", "publishes", typeName);
  };
  const publish = (a: unknown, b: unknown, c?: unknown): Promise<void> => {
    try {
      checkPublish((isSqlTx(a) ? b : a) as DescMessage);
    } catch (err) {
      return Promise.reject(err);
    }
    return (bus.publish as (a: unknown, b: unknown, c?: unknown) => Promise<void>).call(bus, a, b, c);
  };
  const publishMany = async (tx: Parameters<EventBus["publishMany"]>[0], items: readonly EventItem[]) => {
    for (const i of items) checkPublish(i.schema);
    return bus.publishMany(tx, items);
  };
  const consume = (options: ConsumerOptions) => {
    for (const e of options.events ?? []) {
      // A topic given by name: its type as the bus knows it (unknown topics fail in consume itself).
      const typeName =
        typeof e === "string" ? (bus.registry.has(e) ? bus.registry.byTopic(e).typeName : undefined) : e.typeName;
      if (typeName !== undefined && !consumes.has(typeName)) throw refuse("consumes", "consumes", typeName);
    }
    return bus.consume(options);
  };
  return new Proxy(bus, {
    get(target, prop) {
      if (prop === "publish") return publish;
      if (prop === "publishMany") return publishMany;
      if (prop === "consume") return consume;
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === "function" ? (v as (...args: unknown[]) => unknown).bind(target) : v;
    },
  });
}
