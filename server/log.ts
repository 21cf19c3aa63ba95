/**
 * The server log on stderr: one line per event with a timestamp, as text or JSON lines.
 *
 * @module
 */

/** A value a log line may carry. */
export type LogValue = string | number | boolean | undefined;

/** The server's log. Chat text is passed to {@linkcode Logger.message}, which may drop it. */
export interface Logger {
  /** A connection, join, leave or count change. Dropped with `--quiet`. */
  info(event: string, fields?: Record<string, LogValue>): void;
  /** Something went wrong; always logged. */
  error(event: string, fields?: Record<string, LogValue>): void;
  /** A chat message; logged only with `--log-messages`. */
  message(fields: Record<string, LogValue>): void;
}

/** Options of {@linkcode createLogger}. */
export interface LoggerOptions {
  /** `text` (key=value) or `json` (one object a line). */
  readonly format: "text" | "json";
  /** Only errors. */
  readonly quiet: boolean;
  /** Log chat text too. */
  readonly logMessages: boolean;
  /** Where lines go; stderr by default. */
  readonly write?: (line: string) => void;
  /** The clock; a test may fix it. */
  readonly now?: () => Date;
}

const encoder = new TextEncoder();
const writeStderr = (line: string): void => {
  try {
    Deno.stderr.writeSync(encoder.encode(line + "\n"));
  } catch {
    // A closed stderr must never take the server down.
  }
};

/**
 * Makes a logger.
 *
 * @param options format, verbosity and destination
 * @returns the logger
 * @example Log to an array
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLogger } from "./log.ts";
 * const lines: string[] = [];
 * const log = createLogger({ format: "text", quiet: false, logMessages: false, write: (l) => lines.push(l) });
 * log.info("join", { name: "alice" });
 * assert.ok(lines[0]!.endsWith("join name=alice"));
 * ```
 */
export function createLogger(options: LoggerOptions): Logger {
  const write = options.write ?? writeStderr;
  const now = options.now ?? (() => new Date());
  const emit = (level: string, event: string, fields: Record<string, LogValue> = {}) => {
    const ts = now().toISOString();
    if (options.format === "json") {
      write(JSON.stringify({ ts, level, event, ...fields }));
      return;
    }
    let line = `${ts} ${level === "info" ? "" : level.toUpperCase() + " "}${event}`;
    for (const [key, value] of Object.entries(fields)) {
      if (value === undefined) continue;
      const text = String(value);
      line += ` ${key}=${/^[^\s"=]*$/.test(text) && text !== "" ? text : JSON.stringify(text)}`;
    }
    write(line);
  };
  return {
    info: options.quiet ? () => {} : (event, fields) => emit("info", event, fields),
    error: (event, fields) => emit("error", event, fields),
    message: options.logMessages && !options.quiet
      ? (fields) => emit("info", "message", fields)
      : () => {},
  };
}

/** A logger that drops everything, for tests and embedding. */
export const SILENT_LOGGER: Logger = { info() {}, error() {}, message() {} };
