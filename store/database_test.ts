import assert from "node:assert/strict";
import {
  Database,
  DATABASE_FILE,
  DatabaseOpenError,
  MEMORY,
  type Migration,
  MIGRATIONS,
} from "./database.ts";
import { tempDir } from "../tests/support/temp.ts";

function dataDir(): string {
  return tempDir("chat-db-test-");
}

Deno.test("Database.open creates the file 0600 in WAL mode with the latest schema", () => {
  const dir = dataDir() + "/data";
  const db = Database.open(dir);
  try {
    assert.equal(db.version, MIGRATIONS.length);
    const mode = db.sql.prepare("PRAGMA journal_mode").get() as { journal_mode: string };
    assert.equal(mode.journal_mode, "wal");
    assert.equal(Deno.statSync(`${dir}/${DATABASE_FILE}`).mode! & 0o777, 0o600);
    assert.equal(Deno.statSync(dir).mode! & 0o777, 0o700);
  } finally {
    db.close();
  }
});

Deno.test("Database.open keeps what was written across a reopen", () => {
  const dir = dataDir();
  const first = Database.open(dir);
  first.sql.prepare(
    "INSERT INTO owned_names (name_key, name, fingerprint, claimed_at, last_used_at) VALUES (?, ?, ?, ?, ?)",
  ).run("alice", "Alice", "SHA256:x", 1, 2);
  first.close();
  const second = Database.open(dir);
  try {
    const row = second.sql.prepare("SELECT name FROM owned_names").get() as { name: string };
    assert.equal(row.name, "Alice");
  } finally {
    second.close();
  }
});

Deno.test("Database.open runs only the migrations not yet applied", () => {
  const dir = dataDir();
  const steps: Migration[] = [{ version: 1, summary: "t", sql: "CREATE TABLE t (a INTEGER)" }];
  Database.open(dir, steps).close();
  const more = [...steps, { version: 2, summary: "u", sql: "ALTER TABLE t ADD COLUMN b TEXT" }];
  const db = Database.open(dir, more);
  try {
    assert.equal(db.version, 2);
    db.sql.prepare("INSERT INTO t (a, b) VALUES (1, 'x')").run();
  } finally {
    db.close();
  }
});

Deno.test("Database.open refuses a second opener of the same data dir while the first is open", () => {
  const dir = dataDir();
  const first = Database.open(dir);
  try {
    assert.throws(
      () => Database.open(dir),
      (error: unknown) =>
        error instanceof DatabaseOpenError &&
        error.message.includes("in use by another chat server") &&
        error.message.includes(`${dir}/${DATABASE_FILE}`),
    );
  } finally {
    first.close();
  }
  Database.open(dir).close();
});

Deno.test("Database.open refuses a second server process on the same data dir", async () => {
  const dir = dataDir();
  const first = Database.open(dir);
  try {
    const script = `import { Database } from "${new URL("./database.ts", import.meta.url).href}";
try { Database.open(${
      JSON.stringify(dir)
    }); console.log("opened"); } catch (e) { console.log(e.message); }`;
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["eval", script],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(30_000),
    }).output();
    const text = new TextDecoder().decode(output.stdout);
    assert.match(text, /is in use by another chat server/);
  } finally {
    first.close();
  }
});

Deno.test("Database.open names the file of a corrupt database and never starts it empty", () => {
  const dir = dataDir();
  const path = `${dir}/${DATABASE_FILE}`;
  Deno.writeTextFileSync(path, "this is not a database ".repeat(400));
  const before = Deno.readTextFileSync(path);
  assert.throws(
    () => Database.open(dir),
    (error: unknown) =>
      error instanceof DatabaseOpenError && error.message.includes(path) &&
      /corrupt/.test(error.message),
  );
  assert.equal(Deno.readTextFileSync(path), before);
});

Deno.test({
  name: "Database.open names the file of a database this user cannot read",
  // root reads any file whatever its mode, so the case cannot happen there.
  ignore: Deno.uid() === 0,
}, () => {
  const dir = dataDir();
  const path = `${dir}/${DATABASE_FILE}`;
  Database.open(dir).close();
  Deno.chmodSync(path, 0o000);
  try {
    assert.throws(
      () => Database.open(dir),
      (error: unknown) => error instanceof DatabaseOpenError && error.message.includes(path),
    );
  } finally {
    Deno.chmodSync(path, 0o600);
  }
});

Deno.test("Database.open refuses a database from a newer version", () => {
  const dir = dataDir();
  const db = Database.open(dir);
  db.sql.exec(`PRAGMA user_version = ${MIGRATIONS.length + 5}`);
  db.close();
  assert.throws(
    () => Database.open(dir),
    (error: unknown) =>
      error instanceof DatabaseOpenError && /newer chat/.test(error.message) &&
      error.message.includes(`${dir}/${DATABASE_FILE}`),
  );
});

Deno.test("Database.open with :memory: writes no file", () => {
  const cwd = Deno.cwd();
  const db = Database.open(MEMORY);
  try {
    assert.equal(db.version, MIGRATIONS.length);
    assert.throws(() => Deno.statSync(`${cwd}/${MEMORY}`));
  } finally {
    db.close();
  }
});

Deno.test("Database.transaction keeps all or nothing", () => {
  const db = Database.open(MEMORY);
  try {
    const insert = db.sql.prepare(
      "INSERT INTO owned_names (name_key, name, fingerprint, claimed_at, last_used_at) VALUES (?, 'n', 'f', 0, 0)",
    );
    assert.throws(() =>
      db.transaction(() => {
        insert.run("a");
        insert.run("a");
      })
    );
    const row = db.sql.prepare("SELECT count(*) AS n FROM owned_names").get() as { n: number };
    assert.equal(row.n, 0);
  } finally {
    db.close();
  }
});
