import assert from "node:assert/strict";
import { Database, MEMORY } from "../store/database.ts";
import { DatabaseModerationStore, isFingerprint, Moderation, readAddress } from "./moderation.ts";

const FP = "SHA256:" + "A".repeat(43);

Deno.test("Moderation keeps bans, mutes and ops in the database", async () => {
  const db = Database.open(MEMORY);
  try {
    const first = new Moderation(new DatabaseModerationStore(db));
    await first.ban({ target: FP, kind: "identity", name: "bob", by: "op", reason: "spam" });
    await first.mute({ target: "10.0.0.2", by: "op" });
    await first.addOp("SHA256:" + "B".repeat(43), "op");
    const again = new Moderation(new DatabaseModerationStore(db));
    assert.deepEqual(again.banOf(FP), {
      target: FP,
      kind: "identity",
      name: "bob",
      by: "op",
      reason: "spam",
      until: undefined,
    });
    assert.equal(again.muteOf("10.0.0.2")?.by, "op");
    assert.ok(again.isOp("SHA256:" + "B".repeat(43)));
    assert.ok(!again.isOp(undefined));
  } finally {
    db.close();
  }
});

Deno.test("Moderation forgets bans and mutes once they end", async () => {
  const db = Database.open(MEMORY);
  let now = 1000;
  try {
    const moderation = new Moderation(new DatabaseModerationStore(db), { now: () => now });
    await moderation.ban({ target: "10.0.0.1", kind: "address", by: "op", until: 2000 });
    await moderation.mute({ target: FP, by: "op", until: 1500 });
    assert.ok(moderation.banOf("10.0.0.1") !== undefined);
    assert.equal(moderation.bans().length, 1);
    now = 2000;
    assert.equal(moderation.banOf("10.0.0.1"), undefined);
    assert.equal(moderation.muteOf(FP), undefined);
    const rows = db.sql.prepare("SELECT count(*) AS n FROM bans").get() as { n: number };
    assert.equal(rows.n, 0, "the ended ban left the database too");
  } finally {
    db.close();
  }
});

Deno.test("Moderation: --op operators cannot be removed", async () => {
  const db = Database.open(MEMORY);
  try {
    const moderation = new Moderation(new DatabaseModerationStore(db), { configOps: [FP] });
    assert.ok(moderation.isOp(FP) && moderation.isConfigOp(FP));
    assert.ok(!(await moderation.removeOp(FP)));
    assert.ok(moderation.isOp(FP));
  } finally {
    db.close();
  }
});

Deno.test("readAddress and isFingerprint tell targets apart", () => {
  assert.equal(readAddress("127.0.0.1"), "127.0.0.1");
  assert.equal(readAddress("[::1]"), "::1");
  assert.equal(readAddress("::FFFF:10.1.2.3"), "10.1.2.3");
  assert.equal(readAddress("256.1.1.1"), undefined);
  assert.equal(readAddress("bob"), undefined);
  assert.ok(isFingerprint(FP));
  assert.ok(!isFingerprint("SHA256:short"));
});
