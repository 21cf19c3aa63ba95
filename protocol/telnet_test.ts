import assert from "node:assert/strict";
import { DO, DONT, IAC, SB, SE, TelnetFilter, TIMING_MARK, WILL, WONT } from "./telnet.ts";

const BREAK = 243;
const NOP = 241;
const ECHO = 1;
const TERMINAL_TYPE = 24;

function run(filter: TelnetFilter, ...chunks: number[][]) {
  const data: number[] = [];
  const reply: number[] = [];
  for (const chunk of chunks) {
    const result = filter.push(new Uint8Array(chunk));
    data.push(...result.data);
    if (result.reply !== null) reply.push(...result.reply);
  }
  return { data, reply };
}

Deno.test("TelnetFilter passes plain text through untouched", () => {
  const filter = new TelnetFilter();
  const chunk = new TextEncoder().encode("hello ✓\r\n");
  const result = filter.push(chunk);
  assert.equal(result.data, chunk, "the same view, no copy");
  assert.equal(result.reply, null);
  assert.equal(filter.seenCommand, false);
});

Deno.test("TelnetFilter answers netkit's BREAK + DO TIMING-MARK, split anywhere", () => {
  const bytes = [0x61, IAC, BREAK, IAC, DO, TIMING_MARK, 0x62];
  for (let cut = 0; cut <= bytes.length; cut++) {
    const filter = new TelnetFilter();
    const { data, reply } = run(filter, bytes.slice(0, cut), bytes.slice(cut));
    assert.deepEqual(data, [0x61, 0x62], `cut at ${cut}`);
    assert.deepEqual(reply, [IAC, WILL, TIMING_MARK], `cut at ${cut}`);
    assert.ok(filter.seenCommand);
  }
});

Deno.test("TelnetFilter refuses options once, never answers DONT or WONT", () => {
  const filter = new TelnetFilter();
  const { reply } = run(
    filter,
    [IAC, DO, ECHO, IAC, WILL, TERMINAL_TYPE, IAC, DONT, ECHO, IAC, WONT, ECHO],
    [IAC, DO, ECHO, IAC, WILL, TERMINAL_TYPE],
    [IAC, DO, TIMING_MARK, IAC, DO, TIMING_MARK],
  );
  assert.deepEqual(reply, [
    IAC,
    WONT,
    ECHO,
    IAC,
    DONT,
    TERMINAL_TYPE,
    IAC,
    WILL,
    TIMING_MARK,
    IAC,
    WILL,
    TIMING_MARK,
  ]);
});

Deno.test("TelnetFilter drops subnegotiations and commands, keeps IAC IAC as one byte", () => {
  const filter = new TelnetFilter();
  const { data, reply } = run(
    filter,
    [0x78, IAC, SB, TERMINAL_TYPE, 0, 0x78, IAC],
    [IAC, 0x74, IAC, SE, IAC, NOP, 0x79, IAC, IAC, 0x7a, IAC, 0x0a],
  );
  assert.deepEqual(data, [0x78, 0x79, IAC, 0x7a, IAC, 0x0a], "IAC before no command is text");
  assert.deepEqual(reply, []);
  assert.equal(filter.inCommand, false);
  run(filter, [IAC, SB, 1, 2]);
  assert.equal(filter.inCommand, true, "an unfinished subnegotiation is still open");
});

Deno.test("TelnetFilter puts back a byte telnet sent as a command inside a UTF-8 character", () => {
  // What inetutils telnet sent for "hi ✓ there" (✓ is E2 9C 93; 0x9C went out as BREAK).
  const sent = [0x68, 0x69, 0x20, 0xe2, IAC, BREAK, IAC, DO, TIMING_MARK, 0x93, 0x20, 0x74];
  for (let cut = 0; cut <= sent.length; cut++) {
    const { data, reply } = run(new TelnetFilter(), sent.slice(0, cut), sent.slice(cut));
    assert.equal(new TextDecoder().decode(new Uint8Array(data)), "hi ✓ t", `cut at ${cut}`);
    assert.deepEqual(reply, [IAC, WILL, TIMING_MARK], `cut at ${cut}`);
  }
  // Between characters a BREAK is only a command: dropped.
  const { data } = run(new TelnetFilter(), [0x61, IAC, BREAK, 0x62]);
  assert.deepEqual(data, [0x61, 0x62]);
});
