/**
 * The logger the bus writes to: the subset of pino's API it uses, so a
 * service passes its pino logger as is. Defaults to warnings on stderr.
 */
export interface EventLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const consoleLogger: EventLogger = {
  debug() {},
  info() {},
  warn(obj, msg) {
    console.warn(`[events] ${msg ?? ""}`, obj);
  },
  error(obj, msg) {
    console.error(`[events] ${msg ?? ""}`, obj);
  },
};

export const silentLogger: EventLogger = { debug() {}, info() {}, warn() {}, error() {} };
