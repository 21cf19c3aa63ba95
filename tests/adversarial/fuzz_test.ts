/**
 * Adversarial suite, garbage on the port (issue 6, condition 15): random bytes, an HTTP request
 * and a TLS ClientHello each get a clear error or a close, and 10,000 connections of fuzzed
 * bytes later the server still serves everyone. Runs `main.ts serve` as a process.
 */

import assert from "node:assert/strict";
import { GREETING } from "../../server/greeting.ts";
import {
  assertBystandersUnharmed,
  Bystanders,
  concat,
  rawConnect,
  rawHeader,
  readUntilClosed,
  reportFigure,
  runPool,
  writeAll,
} from "../support/adversary.ts";
import {
  frame,
  hasProc,
  joinJson,
  openFdCount,
  parseEvent,
  parseHeader,
  ServeProcess,
  waitUntil,
} from "../support/net.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A small seeded generator (mulberry32), so a failing run can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A TLS 1.2/1.3 ClientHello as a browser sends it first (truncated extensions are fine). */
const CLIENT_HELLO = new Uint8Array([
  0x16,
  0x03,
  0x01,
  0x00,
  0xc4,
  0x01,
  0x00,
  0x00,
  0xc0,
  0x03,
  0x03,
  ...Array.from(
    { length: 32 },
    (_, i) => (i * 37 + 11) & 0xff,
  ),
  0x20,
  ...Array.from({ length: 32 }, (_, i) => (i * 53 + 7) & 0xff),
  0x00,
  0x08,
  0x13,
  0x01,
  0x13,
  0x02,
  0x13,
  0x03,
  0xc0,
  0x2f,
  0x01,
  0x00,
  0x00,
  0x6f,
  0x00,
  0x00,
  0x00,
  0x0e,
  0x00,
  0x0c,
  0x00,
  0x00,
  0x09,
  0x6c,
  0x6f,
  0x63,
  0x61,
  0x6c,
  0x68,
  0x6f,
  0x73,
  0x74,
  0x00,
  0x0a,
  0x00,
  0x0a,
  0x0a,
  0x00,
  0x1d,
  0x00,
  0x17,
]);

const HTTP_REQUEST = encoder.encode(
  "GET / HTTP/1.1\r\nHost: localhost:5050\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n",
);

/** A text error (`! code: ...`) or the `name?` prompt. */
const isTextError = (text: string) => /^! [a-z0-9_]+: /.test(text) || text === "name?";

/**
 * Whether what the server sent before closing is a clear error: frame64 bodies that are JSON
 * `error` events or text errors, or text lines that are errors or the `name?` prompt.
 */
function isClearError(received: Uint8Array): boolean {
  let bytes = withoutTelnetAnswers(received);
  // A server starved of CPU may not have read a connection's bytes when --greet-after passes,
  // and then greets it first: the greeting is a clear answer, and what follows must be too.
  if (startsWithBytes(bytes, GREETING)) bytes = bytes.subarray(GREETING.length);
  if (bytes.length === 0) return true;
  const text = decoder.decode(bytes);
  // A raw client (bare bytes, then a pause) gets one SERVER~ write per notice, no LF between.
  if (text.startsWith("SERVER~")) {
    return text.split(/(?=SERVER~)/).every((part) => isTextError(part.slice(7).trimEnd()));
  }
  if (/^[0-9]+ +/.test(text.slice(0, 64))) {
    let offset = 0;
    while (offset < bytes.length) {
      const length = parseHeader(bytes.subarray(offset, offset + 64));
      const body = decoder.decode(bytes.subarray(offset + 64, offset + 64 + length));
      if (body.startsWith("{") ? parseEvent(body).type !== "error" : !isTextError(body)) {
        return false;
      }
      offset += 64 + length;
    }
    return true;
  }
  return text.split("\n").slice(0, -1).every(isTextError);
}

function startsWithBytes(bytes: Uint8Array, prefix: Uint8Array): boolean {
  return bytes.length >= prefix.length && prefix.every((byte, i) => bytes[i] === byte);
}

/**
 * The bytes without the server's telnet answers (`IAC WILL|WONT|DO|DONT option`): noise that
 * holds `IAC DO x` gets a polite refusal in line mode, which is a fine answer too.
 */
function withoutTelnetAnswers(bytes: Uint8Array): Uint8Array {
  const kept: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0xff && bytes[i + 1]! >= 0xfb && bytes[i + 1]! <= 0xfe) {
      i += 2;
      continue;
    }
    kept.push(bytes[i]!);
  }
  return new Uint8Array(kept);
}

/** One fuzzed connection's bytes. */
function fuzzBytes(next: () => number, i: number): Uint8Array {
  const int = (n: number) => Math.floor(next() * n);
  const randomBytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
  const hello = frame(JSON.stringify({ type: "hello", name: `fz${i}`, protocol: 1 }));
  switch (i % 7) {
    case 0: // Pure noise.
      return randomBytes(1 + int(600));
    case 1: // A valid header, then noise as its body.
      return concat(rawHeader(String(int(2000))), randomBytes(int(2000)));
    case 2: { // Header-like digits and spaces with a few random bytes in.
      const header = rawHeader(String(int(10 ** (1 + int(40)))));
      for (let k = int(3); k >= 0; k--) header[int(64)] = int(256);
      return concat(header, randomBytes(int(300)));
    }
    case 3: { // A good hello, then frames of noise, some valid, some not.
      const parts = [hello];
      for (let k = int(6); k >= 0; k--) {
        parts.push(next() < 0.5 ? frame(randomBytes(int(500))) : randomBytes(int(100)));
      }
      return concat(...parts);
    }
    case 4: { // Line-ish text with control bytes and long lines.
      const chars = " abcdefghij/!:\n\r\t\x1b\x00\x7f\u00e9\u202e";
      let text = "";
      for (let k = int(3000); k > 0; k--) text += chars[int(chars.length)];
      return encoder.encode(text);
    }
    case 5: { // A valid session with bits flipped.
      const bytes = concat(
        hello,
        frame(JSON.stringify({ type: "say", text: "hi" })),
        frame(JSON.stringify({ type: "dm", to: "bylisten", text: "x" })),
        frame(JSON.stringify({ type: "nick", name: `nk${i}` })),
      );
      for (let k = 1 + int(4); k > 0; k--) bytes[int(bytes.length)]! ^= 1 << int(8);
      return bytes;
    }
    default: // JSON that is almost right.
      return concat(
        hello,
        frame(
          [
            '{"type":"say"}',
            '{"type":"say","text":1}',
            "[]",
            "null",
            '{"type":"hello"}',
            "{",
            '{"type":"dm","to":[],"text":"x"}',
            '{"type":"say","text":"' + "\\u0000".repeat(50) + '"}',
          ][int(8)]!,
        ),
      );
  }
}

Deno.test({
  name:
    "condition 15: random bytes, an HTTP request and a TLS ClientHello get a clear error or a close, and after 10,000 fuzzed connections the server still serves",
  ignore: !hasProc(),
  async fn() {
    await using server = await ServeProcess.start([
      "--quiet",
      "--handshake-timeout",
      "1",
      "--frame-timeout",
      "0.5",
    ]);
    const bystanders = await Bystanders.start(server.port, { prefix: "by" });
    try {
      const baseFds = await openFdCount(server.pid);
      // The three named probes, each watched until the server closes it.
      const probes: [string, Uint8Array][] = [
        ["an HTTP request", HTTP_REQUEST],
        ["a TLS ClientHello", CLIENT_HELLO],
        ["4 kB of random bytes", Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)],
        ["a single NUL", new Uint8Array([0])],
      ];
      for (const [label, bytes] of probes) {
        const conn = await rawConnect(server.port);
        await writeAll(conn, bytes);
        const { bytes: got, closed } = await readUntilClosed(conn, 5000);
        assert.ok(closed, `${label}: not closed`);
        assert.ok(isClearError(got), `${label}: got ${JSON.stringify(decoder.decode(got))}`);
      }

      // The fuzz: 10,000 connections, 50 at a time; most close right after writing, every
      // twentieth waits for the server's answer and checks it.
      const seed = Date.now() % 100_000;
      const next = random(seed);
      const count = 10_000;
      const unclear: string[] = [];
      const started = Date.now();
      await runPool(count, 50, async (i) => {
        const bytes = fuzzBytes(next, i);
        const conn = await rawConnect(server.port);
        await writeAll(conn, bytes);
        if (i % 20 !== 0) {
          conn.close();
          return;
        }
        const { bytes: got } = await readUntilClosed(conn, 3000);
        // A fuzzed hello may have joined; then chat events are a fine answer too.
        const text = decoder.decode(got);
        const joined = ['"welcome"', "* welcome", "SERVER~welcome"].some((w) => text.includes(w));
        if (!joined && !isClearError(got)) {
          unclear.push(`${i}: ${JSON.stringify(text.slice(0, 200))}`);
        }
      });
      const elapsed = Date.now() - started;
      reportFigure("condition 15 fuzz", `${count} connections in ${elapsed} ms (seed ${seed})`);
      assert.deepEqual(unclear, [], `seed ${seed}`);

      // Still serving, with nothing going wrong inside.
      assert.ok(!server.exited, "the server is running");
      const newcomer = (await joinJson(server.port, "newcomer")).client;
      await newcomer.sendJson({ type: "say", text: "after the storm" });
      await newcomer.waitForEvent((e) => e.type === "message" && e.text === "after the storm");
      await newcomer.close();
      await waitUntil(
        async () => (await openFdCount(server.pid)) <= baseFds,
        `descriptors back to ${baseFds}`,
        15_000,
      );
      const report = await bystanders.stop();
      assertBystandersUnharmed(report, 2000);
      reportFigure(
        "condition 15 bystander delay",
        `median ${report.medianDelayMs} ms, max ${report.maxDelayMs} ms`,
      );
      const problems = server.stderr.split("\n").filter((line) => / ERROR /.test(line));
      assert.deepEqual(problems, [], "no internal error was logged");
    } finally {
      await bystanders[Symbol.asyncDispose]();
    }
  },
});
