/**
 * Structured JSON logs (pino): one JSON object per line on stdout, with an
 * ISO timestamp and the level as a word. Code takes a child logger with the
 * fields it adds (`log.child({ service: "feed" })`); the RPC layer adds
 * `requestId` and `traceId` to every line logged while handling a call.
 */
import { pino } from "pino";

export type Logger = pino.Logger;

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggerOptions {
  /** Lowest level written. Default "info". */
  readonly level?: LogLevel;
  /** Fields on every line. Default `{ pid }`. */
  readonly base?: Record<string, unknown>;
  /** Where lines go. Default stdout (written synchronously, so nothing is lost on exit). */
  readonly destination?: pino.DestinationStream;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  return pino(
    {
      level: opts.level ?? "info",
      base: opts.base ?? { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: pino.stdSerializers.err },
    },
    opts.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

/** A logger that drops everything (tests, benchmarks). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}

export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}
