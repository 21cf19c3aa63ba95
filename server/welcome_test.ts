import assert from "node:assert/strict";
import type { ServerLimits, WelcomeEvent } from "../protocol/events.ts";
import { encodeTextFrame } from "../protocol/frame64.ts";
import { joinBytes } from "./outgoing.ts";
import { encodeJsonWelcome, UserListJson, welcomeTail } from "./welcome.ts";

const LIMITS: ServerLimits = {
  maxMessageBytes: 4096,
  rateBurst: 10,
  ratePerSecond: 5,
  pingIntervalSeconds: 30,
  idleTimeoutSeconds: 75,
};

function welcomeOf(users: string[], motd?: string): WelcomeEvent {
  return {
    type: "welcome",
    name: users.at(-1) ?? "nobody",
    server: 'a "quoted" server',
    protocol: 1,
    users,
    limits: LIMITS,
    ...(motd === undefined ? {} : { motd }),
  };
}

function encode(list: UserListJson, names: string[], welcome: WelcomeEvent): Uint8Array {
  const tail = welcomeTail(welcome);
  return joinBytes(encodeJsonWelcome(welcome, list.bytes(names), tail));
}

Deno.test("encodeJsonWelcome gives exactly the bytes of the whole event, with or without motd", () => {
  for (const motd of [undefined, "Be nice.\nReally: \u00e9\u{1F600}"]) {
    const list = new UserListJson();
    const names: string[] = [];
    const empty = welcomeOf(names, motd);
    assert.deepEqual(encode(list, names, empty), encodeTextFrame(JSON.stringify(empty)));
    for (const name of ["ann", "b\u00f6b", "\u{1F600}x"]) {
      names.push(name);
      list.add(name);
      const welcome = welcomeOf(names, motd);
      assert.deepEqual(encode(list, names, welcome), encodeTextFrame(JSON.stringify(welcome)));
    }
  }
});

Deno.test("UserListJson never changes bytes it handed out, and rebuilds when stale", () => {
  const list = new UserListJson();
  list.add("ann");
  const first = list.bytes(["ann"]);
  const copy = first.slice();
  for (let i = 0; i < 100; i++) list.add(`user${i}`);
  assert.deepEqual(first, copy, "appends go past the end of what was handed out");
  const names = ["ann", ...Array.from({ length: 100 }, (_, i) => `user${i}`)];
  assert.deepEqual(JSON.parse(`[${new TextDecoder().decode(list.bytes(names))}]`), names);

  const before = list.bytes(names);
  const kept = before.slice();
  list.invalidate();
  list.add("ignored while stale");
  const after = list.bytes(["ann", "zed"]);
  assert.deepEqual(JSON.parse(`[${new TextDecoder().decode(after)}]`), ["ann", "zed"]);
  assert.deepEqual(before, kept, "a rebuild makes a new buffer");
});
