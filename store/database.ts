/**
 * The server's one embedded database (`node:sqlite`, built into Deno): what must outlive the
 * process. Opening it takes the data dir's lock, brings the schema up to date with the
 * migrations below, and refuses, with a sentence that names the file, a database that is
 * corrupt, unreadable, locked by another server or written by a newer version.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";

/** The `--data` value that keeps nothing: an in-memory database. */
export const MEMORY = ":memory:";

/** The database file's name inside the data dir. */
export const DATABASE_FILE = "chat.db";

/** One step of the schema. Steps run in order, each once, inside a transaction. */
export interface Migration {
  /** The schema version after this step (1, 2, ...: no gaps). */
  readonly version: number;
  /** What it adds, for the reader. */
  readonly summary: string;
  /** The SQL it runs. */
  readonly sql: string;
}

/**
 * The schema, as the list of steps that build it. Add a step at the end to change it; never
 * edit one that has shipped, since databases out there already ran it.
 */
export const MIGRATIONS: readonly Migration[] = Object.freeze([
  {
    version: 1,
    summary: "the TLS certificate and owned names",
    sql: `
      CREATE TABLE certificate (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        cert_pem TEXT NOT NULL,
        key_pem TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE owned_names (
        name_key TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        claimed_at INTEGER NOT NULL,
        last_used_at INTEGER NOT NULL
      );
      CREATE INDEX owned_names_last_used ON owned_names (last_used_at);
    `,
  },
  {
    version: 2,
    summary: "operators, bans and mutes",
    sql: `
      CREATE TABLE operators (
        fingerprint TEXT PRIMARY KEY,
        added_by TEXT NOT NULL,
        added_at INTEGER NOT NULL
      );
      CREATE TABLE bans (
        target TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('identity', 'address')),
        name TEXT,
        by_name TEXT NOT NULL,
        reason TEXT,
        created_at INTEGER NOT NULL,
        until INTEGER
      );
      CREATE TABLE mutes (
        target TEXT PRIMARY KEY,
        by_name TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        until INTEGER
      );
    `,
  },
  {
    version: 3,
    summary: "rooms, their messages, and what each identity was last sent in each room",
    sql: `
      CREATE TABLE rooms (
        name TEXT PRIMARY KEY,
        epoch TEXT NOT NULL,
        last_id INTEGER NOT NULL,
        trimmed INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE messages (
        room TEXT NOT NULL,
        id INTEGER NOT NULL,
        ts TEXT NOT NULL,
        sender TEXT NOT NULL,
        kind TEXT NOT NULL,
        text TEXT NOT NULL,
        PRIMARY KEY (room, id)
      ) WITHOUT ROWID;
      CREATE TABLE last_seen (
        fingerprint TEXT NOT NULL,
        room TEXT NOT NULL,
        last_id INTEGER NOT NULL,
        epoch TEXT NOT NULL,
        PRIMARY KEY (fingerprint, room)
      ) WITHOUT ROWID;
    `,
  },
]);

/** The largest database checked page by page at start (see `Database.open`). */
const _FULL_CHECK_BYTES = 32 * 1024 * 1024;

/** Why a database could not be opened; the message names the file and what to do. */
export class DatabaseOpenError extends Error {
  /** The database file concerned. */
  readonly path: string;

  /**
   * @param path the database file
   * @param message a sentence a person can act on
   * @param options the underlying error
   */
  constructor(path: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DatabaseOpenError";
    this.path = path;
  }
}

/** An open database, with its schema up to date. Close it once done. */
export class Database {
  /** The SQLite connection. */
  readonly sql: DatabaseSync;
  /** The file, or {@linkcode MEMORY}. */
  readonly path: string;
  #closed = false;
  /** The lock file's connection, held for as long as this database is open. */
  #lock: DatabaseSync | undefined;

  private constructor(sql: DatabaseSync, path: string) {
    this.sql = sql;
    this.path = path;
  }

  /**
   * Opens (creating if missing) the database of a data dir, or an in-memory one.
   *
   * The file is created 0600 in a dir created 0700. The connection holds SQLite's exclusive
   * lock for as long as it is open (`locking_mode=EXCLUSIVE`), so a second server given the
   * same data dir is refused, and the lock goes with the process however it ends.
   *
   * @param dir the data dir, or {@linkcode MEMORY}
   * @param migrations the schema steps (the project's own by default)
   * @returns the open database
   * @throws {DatabaseOpenError} when the database is corrupt, unreadable, locked by another
   *   process, or newer than this program
   * @example An in-memory database
   * ```ts
   * import assert from "node:assert/strict";
   * import { Database, MEMORY, MIGRATIONS } from "./database.ts";
   * const db = Database.open(MEMORY);
   * assert.ok(db.version === MIGRATIONS.length);
   * db.close();
   * ```
   */
  static open(dir: string, migrations: readonly Migration[] = MIGRATIONS): Database {
    const path = dir === MEMORY ? MEMORY : `${dir.replace(/\/+$/, "")}/${DATABASE_FILE}`;
    if (dir !== MEMORY) _prepareFile(dir, path);
    let sql: DatabaseSync;
    try {
      sql = new DatabaseSync(path);
    } catch (error) {
      throw new DatabaseOpenError(
        path,
        `Cannot open the database ${path}: ${_reason(error)}; check its permissions or give ` +
          `another --data dir`,
        { cause: error },
      );
    }
    const database = new Database(sql, path);
    try {
      database.#setUp(migrations);
    } catch (error) {
      database.close();
      if (error instanceof DatabaseOpenError) throw error;
      const message = _reason(error);
      if (/locked|busy/i.test(message)) {
        throw new DatabaseOpenError(
          path,
          `The database ${path} is in use by another chat server: stop it, or give this one ` +
            `another --data dir (or another --port, whose default data dir differs)`,
          { cause: error },
        );
      }
      throw new DatabaseOpenError(
        path,
        `The database ${path} cannot be read (${message}): it may be corrupt. Move it aside ` +
          `to start with an empty one, or restore it from a backup`,
        { cause: error },
      );
    }
    return database;
  }

  /** The schema version (the number of migrations applied). */
  get version(): number {
    const row = this.sql.prepare("PRAGMA user_version").get() as { user_version: number };
    return row.user_version;
  }

  /**
   * Runs `work` inside one transaction: all of it is kept, or none of it.
   *
   * @param work what to do
   * @returns what `work` returns
   */
  transaction<T>(work: () => T): T {
    this.sql.exec("BEGIN IMMEDIATE");
    try {
      const result = work();
      this.sql.exec("COMMIT");
      return result;
    } catch (error) {
      this.sql.exec("ROLLBACK");
      throw error;
    }
  }

  /** Closes the database and releases its lock; safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.sql.close();
    } catch {
      // Closing twice or after a failed open: nothing left to release.
    }
    try {
      this.#lock?.close();
    } catch {
      // Already released.
    }
  }

  #setUp(migrations: readonly Migration[]): void {
    // Fail at once rather than wait when another process holds the lock.
    this.sql.exec("PRAGMA busy_timeout = 0");
    if (this.path !== MEMORY) {
      // The data dir belongs to one server: a lock file held exclusively for the server's life
      // says so. The database itself stays in normal locking mode, so `chat export` can read it
      // (read-only, in WAL mode) while the server runs.
      this.#lock = _takeLock(`${this.path}.lock`);
      this.sql.exec("PRAGMA journal_mode = WAL");
      // WAL with synchronous=NORMAL: a commit survives the process being killed (it is in the
      // WAL file, in the OS's cache); a power cut may take the last commits before a checkpoint.
      this.sql.exec("PRAGMA synchronous = NORMAL");
    }
    this.sql.exec("PRAGMA foreign_keys = ON");
    // A write takes the exclusive lock now, and keeps it; it also reads every page header, so
    // a file that is not a database fails here, at start.
    this.sql.exec("BEGIN IMMEDIATE");
    this.sql.exec("COMMIT");
    // quick_check reads every page: about a second per 100 MB. A large database (a million
    // messages is ~170 MB) is checked only as far as its schema is read, so start-up stays fast;
    // damage further in shows as an error on the rows it touches, which the store logs.
    const size = this.path === MEMORY ? 0 : Deno.statSync(this.path).size;
    const check = size <= _FULL_CHECK_BYTES
      ? this.sql.prepare("PRAGMA quick_check").all() as { quick_check: string }[]
      : [{
        quick_check: this.sql.prepare("SELECT count(*) AS n FROM sqlite_schema").get() ? "ok" : "",
      }];
    if (check.length !== 1 || check[0]?.quick_check !== "ok") {
      const problem = check.map((row) => row.quick_check).slice(0, 3).join("; ");
      throw new DatabaseOpenError(
        this.path,
        `The database ${this.path} is corrupt (${problem}). Move it aside to start with an ` +
          `empty one, or restore it from a backup`,
      );
    }
    const latest = migrations.length;
    const current = this.version;
    if (current > latest) {
      throw new DatabaseOpenError(
        this.path,
        `The database ${this.path} has schema version ${current}, but this chat knows only up ` +
          `to ${latest}: it was written by a newer chat. Run that version, or give another --data dir`,
      );
    }
    for (const migration of migrations.slice(current)) {
      this.transaction(() => {
        this.sql.exec(migration.sql);
        this.sql.exec(`PRAGMA user_version = ${migration.version}`);
      });
    }
  }
}

/**
 * The default data dir of a server on `port`: `$XDG_DATA_HOME/chat/<port>`, else
 * `$HOME/.local/share/chat/<port>`. One per port, so two servers on one machine never share one.
 *
 * @param port the server's plain port
 * @param env reads an environment variable
 * @returns the directory
 * @throws {Error} when neither `XDG_DATA_HOME` nor `HOME` is set
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultDataDir } from "./database.ts";
 * assert.ok(defaultDataDir(5050, (k) => k === "HOME" ? "/home/a" : undefined) === "/home/a/.local/share/chat/5050");
 * ```
 */
export function defaultDataDir(
  port: number,
  env: (key: string) => string | undefined = _env,
): string {
  const xdg = env("XDG_DATA_HOME");
  if (xdg !== undefined && xdg.startsWith("/")) return `${xdg}/chat/${port}`;
  const home = env("HOME");
  if (home === undefined || home === "") {
    throw new Error("Neither XDG_DATA_HOME nor HOME is set: give the data dir with --data DIR");
  }
  return `${home}/.local/share/chat/${port}`;
}

function _env(key: string): string | undefined {
  try {
    return Deno.env.get(key);
  } catch {
    return undefined;
  }
}

/** Makes the dir (0700) and the file (0600) so SQLite never creates them with looser modes. */
function _prepareFile(dir: string, path: string): void {
  try {
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new DatabaseOpenError(
      path,
      `Cannot create the data dir ${dir}: ${_reason(error)}; give another with --data DIR`,
      { cause: error },
    );
  }
  try {
    const file = Deno.openSync(path, { read: true, write: true, create: true, mode: 0o600 });
    file.close();
    // A file made by hand or by an older version may be readable by others: it holds keys.
    if (((Deno.statSync(path).mode ?? 0) & 0o077) !== 0) Deno.chmodSync(path, 0o600);
  } catch (error) {
    throw new DatabaseOpenError(
      path,
      `Cannot open the database ${path}: ${_reason(error)}; check its permissions or give ` +
        `another --data dir`,
      { cause: error },
    );
  }
}

/**
 * Takes the data dir's lock: a small SQLite file held in exclusive locking mode after one write,
 * which another process cannot then even read. Released when its connection closes or the
 * process dies (the kernel drops the lock).
 */
function _takeLock(path: string): DatabaseSync {
  const lock = new DatabaseSync(path);
  try {
    lock.exec("PRAGMA busy_timeout = 0");
    lock.exec("PRAGMA locking_mode = EXCLUSIVE");
    lock.exec("CREATE TABLE IF NOT EXISTS held (pid INTEGER)");
    lock.exec("BEGIN IMMEDIATE");
    lock.exec(`DELETE FROM held; INSERT INTO held VALUES (${Deno.pid})`);
    lock.exec("COMMIT");
    return lock;
  } catch (error) {
    lock.close();
    throw error;
  }
}

function _reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
