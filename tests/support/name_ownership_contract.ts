/**
 * The contract of {@linkcode NameOwnership}: one suite that the database's owners and the
 * cluster's (Redis) owners both pass, so a name belongs to its identity the same way on a server
 * alone and on every node of a cluster. Call it from the implementation's test file with a
 * fixture that opens owners sharing one store, on a clock the test moves.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { NameOwnership } from "../../server/identity.ts";

/** How an implementation is set up for one test of the contract. */
export interface NameOwnershipFixture {
  /**
   * Opens `count` owners over one fresh, empty store (two of them act as two nodes of a
   * cluster), whose names lapse after `nameDays` on the clock `now`.
   */
  open(count: number, nameDays: number, now: () => number): Promise<NameOwnership[]>;
  /** Frees everything the fixture opened. */
  close(): Promise<void>;
}

const ALICE = "SHA256:aliceaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const MALLORY = "SHA256:malloryaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const HOUR = 3600_000;

/**
 * Registers the contract's tests.
 *
 * @param label the implementation's name, in the test names
 * @param fixture how to open and close it
 * @param ignore true to register the tests as ignored (what they need is missing)
 */
export function nameOwnershipContract(
  label: string,
  fixture: () => NameOwnershipFixture,
  ignore = false,
): void {
  const test = (name: string, fn: (f: NameOwnershipFixture) => Promise<void>) =>
    Deno.test({
      name: `name ownership (${label}): ${name}`,
      ignore,
      sanitizeOps: false,
      sanitizeResources: false,
      fn: async () => {
        const f = fixture();
        try {
          await fn(f);
        } finally {
          await f.close();
        }
      },
    });

  test("the first identity owns a name until it lapses", async (f) => {
    let now = 1_000_000_000;
    const [owners] = await f.open(1, 1, () => now);
    assert.equal(await owners!.refusal("Alice", MALLORY), undefined);
    assert.deepEqual(await owners!.claim("Alice", ALICE), { granted: true, fresh: true });
    assert.equal((await owners!.refusal("ALICE", MALLORY))?.code, "name_owned");
    assert.equal((await owners!.refusal("alice", undefined))?.code, "name_owned");
    assert.equal(await owners!.refusal("alice", ALICE), undefined);
    assert.deepEqual(await owners!.claim("alice", ALICE), { granted: true, fresh: false });
    now += 12 * HOUR;
    await owners!.release("alice", ALICE);
    now += 23 * HOUR;
    assert.equal(await owners!.ownerOf("alice"), ALICE, "a day from the last use");
    now += 2 * HOUR;
    assert.equal(await owners!.ownerOf("alice"), undefined);
    assert.deepEqual(await owners!.claim("alice", MALLORY), { granted: true, fresh: true });
    assert.equal(await owners!.ownerOf("alice"), MALLORY);
  });

  test("a claim of another identity's name is refused, and unclaim undoes only a fresh one", async (f) => {
    const now = 1_000_000_000;
    const [owners] = await f.open(1, 90, () => now);
    await owners!.claim("bob", ALICE);
    const refused = await owners!.claim("BOB", MALLORY);
    assert.equal(refused.granted, false);
    assert.equal(!refused.granted && refused.refusal.code, "name_owned");
    await owners!.unclaim("bob", MALLORY);
    assert.equal(await owners!.ownerOf("bob"), ALICE, "someone else's unclaim changes nothing");
    await owners!.unclaim("Bob", ALICE);
    assert.equal(await owners!.ownerOf("bob"), undefined);
  });

  test("owners over one store agree, and of two claims at once exactly one is granted", async (f) => {
    const now = 1_000_000_000;
    const [one, two] = await f.open(2, 90, () => now);
    await one!.claim("carol", ALICE);
    assert.equal(await two!.ownerOf("Carol"), ALICE);
    assert.equal((await two!.refusal("carol", MALLORY))?.code, "name_owned");
    for (let round = 0; round < 20; round++) {
      const name = `race${round}`;
      const results = await Promise.all([one!.claim(name, ALICE), two!.claim(name, MALLORY)]);
      assert.equal(results.filter((r) => r.granted).length, 1, JSON.stringify(results));
      const winner = results[0]!.granted ? ALICE : MALLORY;
      assert.equal(await one!.ownerOf(name), winner);
      assert.equal(await two!.ownerOf(name), winner);
    }
  });
}
