import assert from "node:assert/strict";
import { IdentityError, loadIdentity } from "./identity.ts";
import { NameOwners, readOfferedKey, verifyAuth } from "../server/identity.ts";
import { Database, MEMORY } from "../store/database.ts";
import { nameOwnershipContract } from "../tests/support/name_ownership_contract.ts";
import { tempDir } from "../tests/support/temp.ts";

function tempPath(): string {
  return `${tempDir("chat-identity-")}/chat/identity`;
}

Deno.test("loadIdentity makes the key once (0600) and reads the same identity back", async () => {
  const path = tempPath();
  const first = await loadIdentity(path);
  assert.equal(first.created, true);
  assert.equal(Deno.statSync(path).mode! & 0o777, 0o600);
  const second = await loadIdentity(path);
  assert.equal(second.created, false);
  assert.equal(second.identity.fingerprint, first.identity.fingerprint);
  assert.equal(second.identity.publicKey, first.identity.publicKey);
});

Deno.test("an identity moved as one file signs challenges the server accepts", async () => {
  const path = tempPath();
  const { identity } = await loadIdentity(path);
  const moved = tempPath();
  Deno.mkdirSync(moved.slice(0, moved.lastIndexOf("/")), { recursive: true });
  Deno.copyFileSync(path, moved);
  Deno.chmodSync(moved, 0o600);
  const copy = (await loadIdentity(moved)).identity;
  const offered = await readOfferedKey(copy.publicKey);
  assert.ok(!(offered instanceof Error));
  assert.equal(offered.fingerprint, identity.fingerprint);
  assert.ok(await verifyAuth(offered, "bm9uY2U", "alice", await copy.sign("bm9uY2U", "alice")));
  assert.ok(!await verifyAuth(offered, "bm9uY2U", "bob", await copy.sign("bm9uY2U", "alice")));
});

Deno.test("loadIdentity refuses a key file others can read, and a file that is not a key", async () => {
  const path = tempPath();
  await loadIdentity(path);
  Deno.chmodSync(path, 0o644);
  await assert.rejects(
    () => loadIdentity(path),
    (error: unknown) => error instanceof IdentityError && error.message.includes("chmod 600"),
  );
  Deno.writeTextFileSync(path, "{not json", { mode: 0o600 });
  Deno.chmodSync(path, 0o600);
  await assert.rejects(
    () => loadIdentity(path),
    (error: unknown) => error instanceof IdentityError && error.message.includes(path),
  );
  Deno.writeTextFileSync(path, JSON.stringify({ kty: "EC", crv: "P-256", d: "x", x: "y" }));
  await assert.rejects(() => loadIdentity(path), IdentityError);
});

const databases: Database[] = [];
nameOwnershipContract("database", () => ({
  open: (count, nameDays, now) => {
    const db = Database.open(MEMORY);
    databases.push(db);
    return Promise.resolve(
      Array.from({ length: count }, () => new NameOwners(db, { nameDays, now })),
    );
  },
  close: () => {
    for (const db of databases.splice(0)) db.close();
    return Promise.resolve();
  },
}));
