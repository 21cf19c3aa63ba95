import assert from "node:assert/strict";
import { ProtocolError } from "./errors.ts";
import { decodeUtf8, encodeUtf8, utf8Length } from "./utf8.ts";

function decodeError(bytes: number[]): ProtocolError {
  try {
    decodeUtf8(new Uint8Array(bytes));
  } catch (error) {
    assert.ok(error instanceof ProtocolError);
    return error;
  }
  throw new Error(`Expected bad_utf8 for ${JSON.stringify(bytes)}`);
}

Deno.test("decodeUtf8 decodes ASCII, multi-byte characters and empty input", () => {
  assert.equal(decodeUtf8(new Uint8Array([])), "");
  assert.equal(decodeUtf8(encodeUtf8("hi")), "hi");
  assert.equal(
    decodeUtf8(new Uint8Array([0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80])),
    "é€😀",
  );
});

Deno.test("decodeUtf8 refuses every kind of invalid UTF-8 with bad_utf8", () => {
  const invalid = [
    [0x80], // stray continuation byte
    [0xc3], // truncated 2-byte character
    [0xe2, 0x82], // truncated 3-byte character
    [0x61, 0xf0, 0x9f, 0x98], // truncated 4-byte character at the end
    [0xc0, 0xaf], // overlong "/"
    [0xe0, 0x80, 0xaf], // overlong 3-byte form
    [0xed, 0xa0, 0x80], // UTF-16 surrogate U+D800
    [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
    [0xff],
    [0x68, 0x69, 0xfe, 0x68],
  ];
  for (const bytes of invalid) {
    const error = decodeError(bytes);
    assert.equal(error.code, "bad_utf8", JSON.stringify(bytes));
    assert.match(error.message, /^[A-Z].*[^.]$/);
  }
});

Deno.test("decodeUtf8 does not carry a truncated character over to the next call", () => {
  decodeError([0xe2, 0x82]);
  // Had the shared decoder kept "E2 82", this byte would complete "€".
  assert.equal(decodeError([0xac]).code, "bad_utf8");
  assert.equal(decodeUtf8(new Uint8Array([0x6f, 0x6b])), "ok");
});

Deno.test("decodeUtf8 drops a leading byte order mark and keeps a later one", () => {
  assert.equal(decodeUtf8(new Uint8Array([0xef, 0xbb, 0xbf, 0x68, 0x69])), "hi");
  assert.equal(decodeUtf8(new Uint8Array([0x68, 0xef, 0xbb, 0xbf])), "h\ufeff");
});

Deno.test("utf8Length matches the encoder for every kind of character", () => {
  const samples = [
    "",
    "hello",
    "é",
    "\u07ff",
    "\u0800",
    "€",
    "\uffff",
    "😀",
    "a😀b€c",
    "\ud800", // lone high surrogate
    "\udc00", // lone low surrogate
    "\ud800a", // high surrogate followed by a non-surrogate
    "\ud800\ud800\udc00", // lone high, then a pair
    "x".repeat(5000),
  ];
  for (const text of samples) {
    assert.equal(utf8Length(text), encodeUtf8(text).length, JSON.stringify(text));
  }
});

Deno.test("utf8Length matches the encoder on random strings", () => {
  let seed = 12345;
  // A small deterministic generator (LCG on 32 bits), so a failure can be replayed.
  const random = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const pool = [
    0x41,
    0x7f,
    0x80,
    0x7ff,
    0x800,
    0xd7ff,
    0xd800,
    0xdbff,
    0xdc00,
    0xdfff,
    0xe000,
    0xffff,
  ];
  for (let n = 0; n < 500; n++) {
    let text = "";
    const length = Math.floor(random() * 20);
    for (let i = 0; i < length; i++) {
      text += String.fromCharCode(pool[Math.floor(random() * pool.length)]!);
    }
    assert.equal(utf8Length(text), encodeUtf8(text).length, JSON.stringify(text));
  }
});

Deno.test("encodeUtf8 round-trips through decodeUtf8", () => {
  const text = "chat: é € 😀 \t\n";
  assert.equal(decodeUtf8(encodeUtf8(text)), text);
});
