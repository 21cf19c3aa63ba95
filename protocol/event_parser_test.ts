import assert from "node:assert/strict";
import type { ErrorCode } from "./errors.ts";
import type { ClientEvent } from "./events.ts";
import { encodeServerEvent, parseClientEvent } from "./event_parser.ts";

const limits = { maxTextBytes: 100 };

function ok(body: string | Uint8Array): ClientEvent {
  const result = parseClientEvent(body, limits);
  if (!result.ok) throw new Error(`Expected ${String(body)} to parse: ${result.error.message}`);
  return result.event;
}

function fails(body: string | Uint8Array, code: ErrorCode, message?: string | RegExp): string {
  const result = parseClientEvent(body, limits);
  if (result.ok) throw new Error(`Expected ${String(body)} to fail with ${code}`);
  assert.equal(result.error.code, code, `${String(body)}: ${result.error.message}`);
  assert.match(result.error.message, /^[A-Z].*[^.]$/s);
  if (typeof message === "string") assert.equal(result.error.message, message);
  else if (message) assert.match(result.error.message, message);
  return result.error.message;
}

const json = (value: unknown) => JSON.stringify(value);

Deno.test("parseClientEvent parses every client event type", () => {
  assert.deepEqual(ok(json({ type: "hello", name: "alice", protocol: 1 })), {
    type: "hello",
    name: "alice",
    protocol: 1,
  });
  assert.deepEqual(ok(json({ type: "hello", name: "alice", protocol: 1, client: "chat/0.1" })), {
    type: "hello",
    name: "alice",
    protocol: 1,
    client: "chat/0.1",
  });
  assert.deepEqual(ok(json({ type: "say", text: "hi" })), { type: "say", text: "hi" });
  assert.deepEqual(ok(json({ type: "me", text: "waves" })), { type: "me", text: "waves" });
  assert.deepEqual(ok(json({ type: "dm", to: "bob", text: "psst" })), {
    type: "dm",
    to: "bob",
    text: "psst",
  });
  assert.deepEqual(ok(json({ type: "nick", name: "al" })), { type: "nick", name: "al" });
  assert.deepEqual(ok(json({ type: "who" })), { type: "who" });
  assert.deepEqual(ok(json({ type: "bye" })), { type: "bye" });
  assert.deepEqual(ok(json({ type: "ping" })), { type: "ping" });
  assert.deepEqual(ok(json({ type: "ping", id: "abc" })), { type: "ping", id: "abc" });
  assert.deepEqual(ok(json({ type: "pong", id: 42 })), { type: "pong", id: 42 });
  assert.deepEqual(ok(json({ type: "pong", id: -1.5 })), { type: "pong", id: -1.5 });
});

Deno.test("parseClientEvent accepts bytes and whitespace around the object", () => {
  const bytes = new TextEncoder().encode(' \r\n\t{"type":"say","text":"h\u00e9"} \n');
  assert.deepEqual(ok(bytes), { type: "say", text: "hé" });
});

Deno.test("parseClientEvent ignores and drops unknown fields", () => {
  assert.deepEqual(ok(json({ type: "say", text: "hi", extra: { deep: [1, 2] }, id: 9 })), {
    type: "say",
    text: "hi",
  });
  assert.deepEqual(ok(json({ type: "who", name: 5 })), { type: "who" });
});

Deno.test("parseClientEvent returns text as received, without sanitising", () => {
  const text = "a\x1b[31m\r\nb\u202e";
  assert.deepEqual(ok(json({ type: "say", text })), { type: "say", text });
});

Deno.test("parseClientEvent refuses invalid UTF-8 with bad_utf8", () => {
  const body = new Uint8Array([
    ...new TextEncoder().encode('{"type":"say","text":"'),
    0xff,
    0x22,
    0x7d,
  ]);
  fails(body, "bad_utf8");
});

Deno.test("parseClientEvent refuses a body that is not one JSON object", () => {
  for (
    const body of [
      "",
      "   ",
      "hello",
      "alice",
      "[]",
      "[1]",
      "null",
      "42",
      '"say"',
      "{",
      '{"type":"say"',
      '{"type":"say"}}',
      "{} {}",
      "{'type':'who'}",
    ]
  ) {
    fails(
      body,
      "bad_event",
      /^The message is not a JSON object: send one like \{"type":"say","text":"hi"\}$/,
    );
  }
});

Deno.test("parseClientEvent refuses a missing or non-string type", () => {
  fails("{}", "bad_event", 'Field "type" is missing');
  fails(json({ text: "hi" }), "bad_event", 'Field "type" is missing');
  fails(json({ type: 1 }), "bad_event", 'Field "type" must be a string');
  fails(json({ type: null }), "bad_event", 'Field "type" must be a string');
  fails(json({ type: ["say"] }), "bad_event", 'Field "type" must be a string');
});

Deno.test("parseClientEvent refuses an unknown type with unknown_type, naming it safely", () => {
  fails(json({ type: "foo" }), "unknown_type", 'Unknown event type: "foo"');
  fails(json({ type: "SAY", text: "hi" }), "unknown_type", 'Unknown event type: "SAY"');
  fails(json({ type: "welcome" }), "unknown_type"); // a server event
  fails(json({ type: "" }), "unknown_type", 'Unknown event type: ""');
  const message = fails(json({ type: "\x1b[2J" + "x".repeat(100) }), "unknown_type");
  assert.ok(!message.includes("\x1b"));
  assert.ok(message.length < 80);
});

Deno.test("parseClientEvent does not read fields from the prototype", () => {
  fails('{"__proto__":{"type":"who"}}', "bad_event", 'Field "type" is missing');
  fails('{"type":"say","__proto__":{"text":"hi"}}', "bad_event", 'Field "text" is missing');
});

Deno.test("parseClientEvent refuses missing and wrongly typed fields, naming the field", () => {
  fails(json({ type: "say" }), "bad_event", 'Field "text" is missing');
  fails(json({ type: "say", text: 5 }), "bad_event", 'Field "text" must be a string');
  fails(json({ type: "say", text: null }), "bad_event", 'Field "text" must be a string');
  fails(json({ type: "me", text: ["a"] }), "bad_event", 'Field "text" must be a string');
  fails(json({ type: "dm", text: "hi" }), "bad_event", 'Field "to" is missing');
  fails(json({ type: "dm", to: "bob" }), "bad_event", 'Field "text" is missing');
  fails(json({ type: "dm", to: 7, text: "hi" }), "bad_event", 'Field "to" must be a string');
  fails(json({ type: "nick" }), "bad_event", 'Field "name" is missing');
  fails(json({ type: "nick", name: {} }), "bad_event", 'Field "name" must be a string');
  fails(json({ type: "hello", protocol: 1 }), "bad_event", 'Field "name" is missing');
  fails(
    json({ type: "hello", name: true, protocol: 1 }),
    "bad_event",
    'Field "name" must be a string',
  );
  fails(
    json({ type: "hello", name: "a", protocol: 1, client: 3 }),
    "bad_event",
    'Field "client" must be a string',
  );
});

Deno.test("parseClientEvent checks the protocol version and says which one is spoken", () => {
  fails(
    json({ type: "hello", name: "alice" }),
    "bad_event",
    'Field "protocol" is missing: this server speaks protocol 1',
  );
  fails(
    json({ type: "hello", name: "alice", protocol: "1" }),
    "bad_event",
    'Field "protocol" must be a number: this server speaks protocol 1',
  );
  fails(
    json({ type: "hello", name: "alice", protocol: 2 }),
    "bad_event",
    'Unsupported protocol version "2": this server speaks protocol 1',
  );
  fails(json({ type: "hello", name: "alice", protocol: 1.5 }), "bad_event", /protocol 1$/);
});

Deno.test("parseClientEvent bounds text by UTF-8 bytes, not characters", () => {
  assert.equal(ok(json({ type: "say", text: "x".repeat(100) })).type, "say");
  fails(
    json({ type: "say", text: "x".repeat(101) }),
    "bad_event",
    'Field "text" is too long: 101 bytes, the limit is 100',
  );
  assert.equal(ok(json({ type: "me", text: "\u00e9".repeat(50) })).type, "me");
  fails(
    json({ type: "me", text: "\u00e9".repeat(51) }),
    "bad_event",
    /102 bytes, the limit is 100$/,
  );
  fails(json({ type: "dm", to: "bob", text: "😀".repeat(26) }), "bad_event", /104 bytes/);
  // Escapes count as the characters they stand for.
  assert.equal(ok(`{"type":"say","text":"${"\\u00e9".repeat(50)}"}`).type, "say");
});

Deno.test("parseClientEvent bounds name fields before name validation", () => {
  // 32 letters each sent decomposed (letter + mark) is a valid 32-character name.
  assert.equal(ok(json({ type: "hello", name: "e\u0301".repeat(32), protocol: 1 })).type, "hello");
  assert.equal(ok(json({ type: "nick", name: "x".repeat(128) })).type, "nick");
  fails(
    json({ type: "nick", name: "x".repeat(129) }),
    "bad_name",
    /^Names must be 1 to 32 characters: "x+…" has 129$/,
  );
  fails(json({ type: "hello", name: "😀".repeat(200), protocol: 1 }), "bad_name", / has 200$/);
  fails(
    json({ type: "dm", to: "x".repeat(129), text: "hi" }),
    "bad_event",
    'Field "to" is too long: 129 characters, names have at most 32',
  );
});

Deno.test("parseClientEvent checks ping and pong ids", () => {
  assert.deepEqual(ok(json({ type: "ping", id: null })), { type: "ping" });
  assert.deepEqual(ok(json({ type: "ping", id: "x".repeat(64) })), {
    type: "ping",
    id: "x".repeat(64),
  });
  fails(
    json({ type: "ping", id: "x".repeat(65) }),
    "bad_event",
    'Field "id" is too long: 65 characters, the limit is 64',
  );
  fails(json({ type: "pong", id: true }), "bad_event", 'Field "id" must be a string or a number');
  fails(json({ type: "pong", id: {} }), "bad_event", 'Field "id" must be a string or a number');
  fails('{"type":"ping","id":1e999}', "bad_event", 'Field "id" must be finite');
});

Deno.test("parseClientEvent treats a null client as absent and bounds it", () => {
  assert.deepEqual(ok(json({ type: "hello", name: "a", protocol: 1, client: null })), {
    type: "hello",
    name: "a",
    protocol: 1,
  });
  fails(
    json({ type: "hello", name: "a", protocol: 1, client: "c".repeat(65) }),
    "bad_event",
    /Field "client" is too long/,
  );
});

Deno.test("parseClientEvent tells which type a failed event had", () => {
  const broken = parseClientEvent(json({ type: "hello", name: "a", protocol: 9 }), limits);
  assert.ok(!broken.ok && broken.type === "hello");
  const unknown = parseClientEvent(json({ type: "nope" }), limits);
  assert.ok(!unknown.ok && unknown.type === "nope");
  const plain = parseClientEvent("alice", limits);
  assert.ok(!plain.ok && plain.type === undefined);
  const untyped = parseClientEvent("{}", limits);
  assert.ok(!untyped.ok && untyped.type === undefined);
});

Deno.test("parseClientEvent never throws, even on deeply nested or hostile input", () => {
  const bodies = [
    "{".repeat(5000),
    `{"a":${"[".repeat(100_000)}${"]".repeat(100_000)},"type":"who"}`,
    '{"type":"say","text":"\\ud800"}',
    new Uint8Array([0x7b, 0xc0, 0x80, 0x7d]),
    new Uint8Array(0),
  ];
  for (const body of bodies) {
    const result = parseClientEvent(body, limits);
    assert.equal(typeof result.ok, "boolean");
  }
});

Deno.test("encodeServerEvent writes one line of JSON that parses back", () => {
  const event = {
    type: "message",
    id: 1,
    ts: "2024-01-01T00:00:00.000Z",
    from: "alice",
    text: "a\nb",
    kind: "say",
  } as const;
  const encoded = encodeServerEvent(event);
  assert.ok(!encoded.includes("\n"));
  assert.deepEqual(JSON.parse(encoded), event);
});

Deno.test("parseClientEvent parses the room events and checks their fields", () => {
  assert.deepEqual(ok(json({ type: "room", name: "#rust" })), { type: "room", name: "#rust" });
  assert.deepEqual(ok(json({ type: "rooms" })), { type: "rooms" });
  fails(json({ type: "room" }), "bad_event", 'Field "name" is missing');
  fails(json({ type: "room", name: 5 }), "bad_event", 'Field "name" must be a string');
});

Deno.test("parseClientEvent reads hello.summaries: true kept, false or null dropped, else bad", () => {
  const hello = (summaries: string) =>
    `{"type":"hello","name":"ann","protocol":1,"summaries":${summaries}}`;
  assert.deepEqual(ok(hello("true")), { type: "hello", name: "ann", protocol: 1, summaries: true });
  assert.deepEqual(ok(hello("false")), { type: "hello", name: "ann", protocol: 1 });
  assert.deepEqual(ok(hello("null")), { type: "hello", name: "ann", protocol: 1 });
  const result = parseClientEvent(hello('"yes"'), limits);
  assert.ok(!result.ok && result.error.code === "bad_event");
});

Deno.test("parseClientEvent reads a say from bytes as from its decoded text, whatever the text", () => {
  const encoder = new TextEncoder();
  // What the bytes decode to: the text the full parse reads (a leading BOM dropped).
  const decoder = new TextDecoder();
  const texts = [
    "",
    "hi",
    "#b00001.0000000001.1234567890123.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa$",
    ' "quoted" ',
    "back\\slash",
    "tab\there",
    "line\nbreak",
    "\x00\x1f\x7f\x80",
    "\x1b[31mred",
    "\u00e9t\u00e9 \u65e5\u672c \u{1f600}",
    "\ufeffbom first",
    "~".repeat(100),
    "x".repeat(101),
    "y".repeat(2000),
  ];
  const bodies: string[] = [];
  for (const text of texts) {
    bodies.push(json({ type: "say", text }));
    bodies.push(json({ type: "me", text }));
    bodies.push(`{"type": "say", "text": ${json(text)}}`);
    bodies.push(`{"type":"say","text":${json(text)},"id":1}`);
    bodies.push(`{"text":${json(text)},"type":"say"}`);
    bodies.push(`${json({ type: "say", text })} `);
    bodies.push(`\ufeff${json({ type: "say", text })}`);
  }
  bodies.push('{"type":"say","text":"', '{"type":"say","text":"}', '{"type":"say","text":"a""}');
  bodies.push(
    '{"type":"say","text":"a"}}',
    '{"type":"say","text":"a\\"}',
    '{"type":"say","text":1}',
  );
  for (const body of bodies) {
    for (const maxTextBytes of [0, 2, 64, 100, 4096]) {
      const bounds = { maxTextBytes };
      const bytes = encoder.encode(body);
      assert.deepEqual(
        parseClientEvent(bytes, bounds),
        parseClientEvent(decoder.decode(bytes), bounds),
        body,
      );
    }
  }
  // Bytes that are not UTF-8 inside the text are refused as in any other body.
  const bad = encoder.encode('{"type":"say","text":"ab"}');
  bad[23] = 0xff;
  fails(bad, "bad_utf8");
});
