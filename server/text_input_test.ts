import assert from "node:assert/strict";
import { FramingError } from "../protocol/errors.ts";
import { DO, IAC, TIMING_MARK, WILL } from "../protocol/telnet.ts";
import { TextInput } from "./text_input.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const PAUSE_MS = 40;

function open(maxBytes = 100) {
  const got: string[] = [];
  const replies: number[][] = [];
  const errors: unknown[] = [];
  let pauses = 0;
  const input = new TextInput({
    text: (bytes) => got.push(decoder.decode(bytes)),
    mode: (mode) => got.push(`<${mode}>`),
    reply: (bytes) => replies.push([...bytes]),
    error: (error) => errors.push(error),
    paused: () => pauses++,
  }, { maxBytes, pauseMs: PAUSE_MS });
  return { input, got, replies, errors, pauses: () => pauses };
}

/** Waits until `check` holds, for at most two seconds. */
async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

Deno.test("TextInput makes a line client of bytes that reach a LF before a pause", () => {
  const { input, got } = open();
  input.push(encoder.encode("ali"));
  input.push(encoder.encode("ce\r\nhello"));
  input.push(encoder.encode(" all\n"));
  input.close();
  assert.deepEqual(got, ["<line>", "alice", "hello all"]);
});

Deno.test("TextInput makes a raw client of bytes followed by a pause, one message per burst", async () => {
  const { input, got, pauses } = open();
  try {
    input.push(encoder.encode("ali"));
    input.push(encoder.encode("ce"));
    await until(() => got.length === 2, "the name");
    assert.deepEqual(got, ["<raw>", "alice"]);
    input.push(encoder.encode("two\nlines"));
    await until(() => got.length === 3, "the message");
    assert.equal(got[2], "two\nlines", "after the mode is known, a LF is only text");
    assert.equal(input.bufferedBytes, 0);
    assert.ok(pauses() >= 2);
  } finally {
    input.close();
  }
});

Deno.test("TextInput ends no burst while the sender never pauses", async () => {
  // The clock the input reads moves only when the test says so: the sender "never pauses"
  // however slowly this machine runs the timers.
  let clock = 0;
  const got: string[] = [];
  const input = new TextInput({
    text: (bytes) => got.push(decoder.decode(bytes)),
    mode: (mode) => got.push(`<${mode}>`),
    reply: () => {},
    error: (error) => {
      throw error;
    },
    paused: () => {},
  }, { maxBytes: 10_000, pauseMs: PAUSE_MS, now: () => clock });
  try {
    input.push(encoder.encode("bob"));
    clock += PAUSE_MS;
    await until(() => got.length === 2, "the name");
    for (let i = 0; i < 100; i++) input.push(encoder.encode("x"));
    await new Promise((resolve) => setTimeout(resolve, PAUSE_MS * 4));
    assert.deepEqual(got, ["<raw>", "bob"], "nothing handed over mid-burst");
    assert.equal(input.bufferedBytes, 100);
    clock += PAUSE_MS;
    await until(() => got.length === 3, "the end of the burst");
    assert.equal(got[2], "x".repeat(100));
  } finally {
    input.close();
  }
});

Deno.test("TextInput takes a telnet command as a line client and forwards the answer", () => {
  const { input, got, replies } = open();
  input.push(new Uint8Array([IAC, DO, TIMING_MARK]));
  input.push(encoder.encode("carol\r\n"));
  input.close();
  assert.deepEqual(got, ["<line>", "carol"]);
  assert.deepEqual(replies, [[IAC, WILL, TIMING_MARK]]);
});

Deno.test("TextInput refuses a first burst over the cap at once", () => {
  const { input } = open(64);
  try {
    assert.throws(() => input.push(new Uint8Array(65).fill(0x61)), FramingError);
  } finally {
    input.close();
  }
});

Deno.test("TextInput hands an unfinished first line over at the end of input", () => {
  const { input, got } = open();
  input.push(encoder.encode("dave"));
  input.flush();
  input.close();
  assert.deepEqual(got, ["<line>", "dave"]);
});
