/**
 * `chat export`: prints a data dir's stored messages as NDJSON, one message per line, oldest
 * first per room. It opens the database read-only and reads inside one transaction, which in WAL
 * mode is a snapshot: a running server goes on writing meanwhile, and the export sees the
 * database as it was when it began, never half a batch.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { parseArgs } from "node:util";
import { UsageError } from "../flags/usage_error.ts";
import { DATABASE_FILE } from "./database.ts";

/** What `chat export` reads. */
export interface ExportConfig {
  /** The data dir. */
  readonly data: string;
  /** Only this room, when given. */
  readonly room?: string;
  /** Only messages at or after this instant (ISO 8601), when given. */
  readonly since?: string;
}

/** The usage line of `chat export`. */
export const EXPORT_USAGE = "Usage: chat export --data DIR [--room #ROOM] [--since DATE]";

/** The help of `chat export`. */
export const EXPORT_HELP = `chat export: print the stored messages of a data dir as NDJSON

${EXPORT_USAGE}

Each line is one message: {"room","id","ts","from","kind","text"}, oldest first in each room.
It reads a consistent snapshot and works while the server runs (the database is opened
read-only; the server's lock is on a separate file).

Options:
  --data DIR      The server's data dir (the one given to 'chat serve --data')
  --room #ROOM    Only this room
  --since DATE    Only messages from this date or instant on (2026-01-31 or ISO 8601)
  -h, --help      Show this help
`;

/**
 * Reads `chat export`'s arguments.
 *
 * @param args the arguments after `export`
 * @returns the config
 * @throws {UsageError} for a missing `--data` or a date that cannot be read
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseExportArgs } from "./export.ts";
 * assert.equal(parseExportArgs(["--data", "/tmp/d", "--room", "main"]).room, "#main");
 * ```
 */
export function parseExportArgs(args: readonly string[]): ExportConfig {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        data: { type: "string" },
        room: { type: "string" },
        since: { type: "string" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.data === undefined || values.data.trim() === "") {
    throw new UsageError("Give the data dir to read with --data DIR");
  }
  let since: string | undefined;
  if (values.since !== undefined) {
    const date = new Date(values.since);
    if (Number.isNaN(date.getTime())) {
      throw new UsageError(
        `The --since value must be a date such as 2026-01-31 or 2026-01-31T12:00:00Z: ` +
          JSON.stringify(values.since),
      );
    }
    since = date.toISOString();
  }
  const room = values.room === undefined
    ? undefined
    : values.room.startsWith("#")
    ? values.room.toLowerCase()
    : `#${values.room.toLowerCase()}`;
  return {
    data: values.data,
    ...(room === undefined ? {} : { room }),
    ...(since === undefined ? {} : { since }),
  };
}

/**
 * Writes the stored messages as NDJSON.
 *
 * @param config what to read
 * @param write where each chunk of lines goes
 * @returns how many messages were written
 * @throws {Error} when the database cannot be opened, with a sentence saying why
 */
export function exportMessages(config: ExportConfig, write: (text: string) => void): number {
  const path = `${config.data.replace(/\/+$/, "")}/${DATABASE_FILE}`;
  try {
    Deno.statSync(path);
  } catch {
    throw new Error(`There is no database at ${path}: check the --data dir`);
  }
  const db = new DatabaseSync(path, { readOnly: true });
  let count = 0;
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    const version = (db.prepare("PRAGMA user_version").get() as { user_version: number })
      .user_version;
    if (version < 2) return 0;
    // One read transaction: in WAL mode, a snapshot of the database as it is now.
    db.exec("BEGIN");
    const where: string[] = [];
    const params: string[] = [];
    if (config.room !== undefined) {
      where.push("room = ?");
      params.push(config.room);
    }
    if (config.since !== undefined) {
      where.push("ts >= ?");
      params.push(config.since);
    }
    const query = db.prepare(
      "SELECT room, id, ts, sender, kind, text FROM messages" +
        (where.length > 0 ? ` WHERE ${where.join(" AND ")}` : "") + " ORDER BY room, id",
    );
    let chunk = "";
    for (const row of query.iterate(...params)) {
      const { room, id, ts, sender, kind, text } = row as Record<string, string | number>;
      chunk += JSON.stringify({ room, id, ts, from: sender, kind, text }) + "\n";
      count++;
      if (chunk.length > 65536) {
        write(chunk);
        chunk = "";
      }
    }
    if (chunk.length > 0) write(chunk);
    db.exec("COMMIT");
  } finally {
    db.close();
  }
  return count;
}

/**
 * Runs `chat export` to standard output.
 *
 * @param config what to read
 * @returns the exit code
 */
export function runExport(config: ExportConfig): number {
  const encoder = new TextEncoder();
  const out = (text: string) => {
    const bytes = encoder.encode(text);
    let written = 0;
    while (written < bytes.length) written += Deno.stdout.writeSync(bytes.subarray(written));
  };
  exportMessages(config, out);
  return 0;
}
