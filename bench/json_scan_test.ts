import assert from "node:assert/strict";
import {
  bytesEqual,
  bytesEqualAscii,
  type EventFields,
  newEventFields,
  scanEvent,
} from "./json_scan.ts";

const utf8 = new TextEncoder();
const text = new TextDecoder();

function scan(json: string): { ok: boolean; fields: EventFields; body: Uint8Array } {
  const body = utf8.encode(json);
  const fields = newEventFields();
  return { ok: scanEvent(body, fields), fields, body };
}

function slice(body: Uint8Array, start: number, end: number): string | null {
  return start < 0 ? null : text.decode(body.subarray(start, end));
}

Deno.test("scanEvent finds type, from, text, id and history in a message event", () => {
  const event = {
    type: "message",
    id: 42,
    ts: "2026-11-21T15:18:06.123Z",
    from: "user7",
    text: "#b hello",
    kind: "say",
    history: true,
  };
  const { ok, fields, body } = scan(JSON.stringify(event));
  assert.ok(ok);
  assert.equal(slice(body, fields.typeStart, fields.typeEnd), "message");
  assert.equal(slice(body, fields.fromStart, fields.fromEnd), "user7");
  assert.equal(slice(body, fields.textStart, fields.textEnd), "#b hello");
  assert.equal(slice(body, fields.idStart, fields.idEnd), "42");
  assert.equal(fields.textEscaped, false);
  assert.equal(fields.history, true);
  assert.equal(fields.codeStart, -1);
});

Deno.test("scanEvent does not take keys inside strings or nested values for top-level keys", () => {
  const json = '{ "type" : "welcome", "motd": "\\"from\\":\\"mallory\\"", ' +
    '"limits": {"from": "x", "text": ["a", {"history": true}]}, "users": ["from", "text"] }';
  const { ok, fields, body } = scan(json);
  assert.ok(ok);
  assert.equal(slice(body, fields.typeStart, fields.typeEnd), "welcome");
  assert.equal(fields.fromStart, -1);
  assert.equal(fields.textStart, -1);
  assert.equal(fields.history, false);
});

Deno.test("scanEvent marks an escaped text and finds error codes and string ids", () => {
  const { ok, fields, body } = scan(
    JSON.stringify({ type: "error", code: "rate_limited", text: 'a"b', id: "p1" }),
  );
  assert.ok(ok);
  assert.equal(slice(body, fields.codeStart, fields.codeEnd), "rate_limited");
  assert.equal(fields.textEscaped, true);
  assert.equal(slice(body, fields.idStart, fields.idEnd), '"p1"');
});

Deno.test("scanEvent resets fields between calls", () => {
  const fields = newEventFields();
  assert.ok(
    scanEvent(utf8.encode('{"type":"message","from":"a","text":"b","history":true}'), fields),
  );
  assert.ok(scanEvent(utf8.encode('{"type":"join"}'), fields));
  assert.equal(fields.fromStart, -1);
  assert.equal(fields.textStart, -1);
  assert.equal(fields.history, false);
});

Deno.test("scanEvent ignores keys whose values are not strings", () => {
  const { ok, fields } = scan('{"type":1,"from":null,"text":{"a":"b"},"history":"true"}');
  assert.ok(ok);
  assert.equal(fields.typeStart, -1);
  assert.equal(fields.fromStart, -1);
  assert.equal(fields.textStart, -1);
  assert.equal(fields.history, false);
});

Deno.test("scanEvent refuses bodies that are not one JSON object", () => {
  for (
    const json of [
      "",
      "[]",
      '"type"',
      '{"type":"message"',
      '{"type":"mess',
      '{"type" "message"}',
      '{"type":"message",}x',
      '{"type":"message"} x',
      '{"a":[1,2}',
      "{type:1}",
    ]
  ) {
    assert.equal(scan(json).ok, false, json);
  }
  assert.equal(scan("{}").ok, true);
  assert.equal(scan(' { "a" : [ 1 , { "b" : "]" } ] , "c" : -1.5e3 } ').ok, true);
});

Deno.test("bytesEqual and bytesEqualAscii compare exact spans", () => {
  const body = utf8.encode('{"from":"user12"}');
  assert.ok(bytesEqual(body, 9, 15, utf8.encode("user12")));
  assert.ok(!bytesEqual(body, 9, 14, utf8.encode("user12")));
  assert.ok(!bytesEqual(body, 9, 15, utf8.encode("user13")));
  assert.ok(!bytesEqual(body, -1, 5, utf8.encode("user12")));
  assert.ok(bytesEqualAscii(body, 2, 6, "from"));
  assert.ok(!bytesEqualAscii(body, 2, 6, "fro"));
  assert.ok(!bytesEqualAscii(body, -1, 3, "fro"));
});
