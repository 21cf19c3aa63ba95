import assert from "node:assert/strict";
import { FramingError } from "./errors.ts";
import { encodeFrame, HEADER_BYTES, KEEPALIVE_FRAME } from "./frame64.ts";
import { Frame64Parser } from "./frame64_parser.ts";

const utf8 = new TextEncoder();
const text = new TextDecoder();

/** Feeds `chunks` to a fresh parser; returns the bodies (copied) and the error, if any. */
function parseChunks(
  chunks: Iterable<Uint8Array>,
  maxBodyBytes = 4096,
): { bodies: Uint8Array[]; error: FramingError | null; parser: Frame64Parser } {
  const bodies: Uint8Array[] = [];
  const parser = new Frame64Parser((body) => bodies.push(body.slice()), { maxBodyBytes });
  let error: FramingError | null = null;
  try {
    for (const chunk of chunks) parser.push(chunk);
  } catch (caught) {
    if (!(caught instanceof FramingError)) throw caught;
    error = caught;
  }
  return { bodies, error, parser };
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function header(text: string): Uint8Array {
  return utf8.encode(text.padEnd(HEADER_BYTES, " "));
}

Deno.test("Frame64Parser yields the same bodies when a stream is split at every byte position", () => {
  const bodies = ["hello", "", "wörld ✓ 😀", "x".repeat(300), '{"type":"say","text":"hi"}'];
  const stream = concat(
    ...bodies.map((b) => b === "" ? KEEPALIVE_FRAME : encodeFrame(utf8.encode(b))),
  );
  const expected = bodies.filter((b) => b !== "");
  for (let split = 0; split <= stream.length; split++) {
    const { bodies: got, error } = parseChunks([stream.subarray(0, split), stream.subarray(split)]);
    assert.equal(error, null, `split at ${split}`);
    assert.deepEqual(got.map((b) => text.decode(b)), expected, `split at ${split}`);
  }
});

Deno.test("Frame64Parser yields the same bodies when split at every pair of positions", () => {
  const stream = concat(encodeFrame(utf8.encode("añb")), encodeFrame(utf8.encode("cd")));
  for (let a = 0; a <= stream.length; a++) {
    for (let b = a; b <= stream.length; b++) {
      const { bodies } = parseChunks([
        stream.subarray(0, a),
        stream.subarray(a, b),
        stream.subarray(b),
      ]);
      assert.deepEqual(bodies.map((x) => text.decode(x)), ["añb", "cd"], `splits ${a},${b}`);
    }
  }
});

Deno.test("Frame64Parser handles byte-by-byte delivery and many frames in one chunk alike", () => {
  const messages = Array.from({ length: 500 }, (_, i) => `message ${i} ${"é".repeat(i % 7)}`);
  const stream = concat(...messages.map((m) => encodeFrame(utf8.encode(m))));
  const whole = parseChunks([stream]);
  const bytewise = parseChunks(Array.from(stream, (byte) => new Uint8Array([byte])));
  assert.deepEqual(whole.bodies.map((b) => text.decode(b)), messages);
  assert.deepEqual(bytewise.bodies.map((b) => text.decode(b)), messages);
});

Deno.test("Frame64Parser delivers a multi-byte character split across chunks intact", () => {
  const body = utf8.encode("😀");
  const frame = encodeFrame(body);
  for (let split = HEADER_BYTES + 1; split < frame.length; split++) {
    const { bodies } = parseChunks([frame.subarray(0, split), frame.subarray(split)]);
    assert.equal(text.decode(bodies[0]!), "😀");
  }
});

Deno.test("Frame64Parser skips keepalive frames", () => {
  const { bodies, error } = parseChunks([
    concat(KEEPALIVE_FRAME, KEEPALIVE_FRAME, encodeFrame(utf8.encode("a")), KEEPALIVE_FRAME),
  ]);
  assert.equal(error, null);
  assert.deepEqual(bodies.map((b) => text.decode(b)), ["a"]);
});

Deno.test("Frame64Parser rejects every malformed header as bad_frame, whole or byte by byte", () => {
  const malformed = [
    utf8.encode("12abc".padEnd(64, " ")),
    utf8.encode("-1".padEnd(64, " ")),
    utf8.encode(" 12".padEnd(64, " ")),
    utf8.encode("1e3".padEnd(64, " ")),
    utf8.encode("0x10".padEnd(64, " ")),
    utf8.encode("1 2".padEnd(64, " ")),
    utf8.encode("+5".padEnd(64, " ")),
    utf8.encode("5\t".padEnd(64, " ")),
    concat(utf8.encode("5"), new Uint8Array(63)), // NUL padding
    concat(new Uint8Array([0]), utf8.encode("5".padEnd(63, " "))),
    concat(utf8.encode("5"), utf8.encode("é".padEnd(62, " "))), // non-ASCII
    utf8.encode("٣".padEnd(63, " ")), // a non-ASCII digit
    utf8.encode("5".padEnd(63, " ") + "\n"),
  ];
  for (const bad of malformed) {
    for (const chunks of [[bad], Array.from(bad, (b) => new Uint8Array([b]))]) {
      const { bodies, error, parser } = parseChunks([...chunks, utf8.encode("x".repeat(10))]);
      assert.equal(error?.code, "bad_frame", JSON.stringify(text.decode(bad)));
      assert.deepEqual(bodies, []);
      assert.equal(parser.bufferedBytes, 0);
      assert.throws(() => parser.push(new Uint8Array(1)), FramingError, "stays failed");
    }
  }
});

Deno.test("Frame64Parser fails a bad header at its first bad byte, without waiting for 64", () => {
  const { error } = parseChunks([utf8.encode("12a")]);
  assert.equal(error?.code, "bad_frame");
  assert.match(error!.message, /"12a"/);
});

Deno.test("Frame64Parser refuses a length above the cap before any body byte is buffered", () => {
  for (
    const length of ["4097", "999999999", String(2 ** 53), "1" + "0".repeat(30), "9".repeat(64)]
  ) {
    // Whole header, then byte by byte; no body bytes are ever sent.
    for (
      const chunks of [[header(length)], Array.from(header(length), (b) => new Uint8Array([b]))]
    ) {
      const { error, parser } = parseChunks(chunks);
      assert.equal(error?.code, "too_large", length);
      assert.equal(parser.bufferedBytes, 0);
    }
  }
  const { error } = parseChunks([header("4096"), new Uint8Array(4096)]);
  assert.equal(error, null, "exactly the cap is accepted");
});

Deno.test("Frame64Parser holds at most cap + 64 bytes and the cap can be raised later", () => {
  const parser = new Frame64Parser(() => {}, { maxBodyBytes: 100 });
  parser.push(header("100"));
  parser.push(new Uint8Array(99));
  assert.ok(parser.bufferedBytes <= 164);
  assert.equal(parser.inFrame, true);
  parser.push(new Uint8Array(1));
  assert.equal(parser.inFrame, false);
  assert.throws(() => parser.push(header("101")), FramingError);
  const raised = new Frame64Parser(() => {}, { maxBodyBytes: 100 });
  raised.maxBodyBytes = 200;
  raised.push(concat(header("150"), new Uint8Array(150)));
});

/** A straightforward whole-input reference: the bodies, then the error code, if any. */
function referenceParse(input: Uint8Array, cap: number): { bodies: string[]; code: string | null } {
  const bodies: string[] = [];
  let offset = 0;
  while (offset < input.length) {
    const available = input.subarray(offset, offset + HEADER_BYTES);
    let i = 0;
    let digits = "";
    while (i < available.length && available[i]! >= 0x30 && available[i]! <= 0x39) {
      digits += String.fromCharCode(available[i++]!);
    }
    // The first failing byte decides: a digit run passes the cap before any later bad byte.
    if (digits !== "" && Number(digits) > cap) return { bodies, code: "too_large" };
    while (i < available.length && available[i] === 0x20) i++;
    if (i < available.length) return { bodies, code: "bad_frame" };
    if (available.length < HEADER_BYTES) return { bodies, code: null };
    const length = digits === "" ? 0 : Number(digits);
    offset += HEADER_BYTES;
    if (input.length - offset < length) return { bodies, code: null };
    if (length > 0) bodies.push(Array.from(input.subarray(offset, offset + length)).join(","));
    offset += length;
  }
  return { bodies, code: null };
}

/** A small deterministic PRNG (xorshift32), so a failure can be replayed from its seed. */
function rng(seed: number): () => number {
  let state = seed || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

function randomInput(random: () => number): Uint8Array {
  const parts: Uint8Array[] = [];
  const frames = Math.floor(random() * 4);
  for (let f = 0; f < frames; f++) {
    const kind = random();
    const length = Math.floor(random() * 40);
    const body = Uint8Array.from({ length }, () => Math.floor(random() * 256));
    if (kind < 0.6) {
      parts.push(encodeFrame(body));
    } else if (kind < 0.75) {
      const frame = encodeFrame(body);
      frame[Math.floor(random() * HEADER_BYTES)] = Math.floor(random() * 256); // corrupt header
      parts.push(frame);
    } else if (kind < 0.85) {
      parts.push(header(String(Math.floor(random() * 1e6))), body); // length likely too large
    } else {
      parts.push(
        Uint8Array.from({ length: Math.floor(random() * 80) }, () => Math.floor(random() * 256)),
      );
    }
  }
  if (random() < 0.3) {
    parts.push(encodeFrame(new Uint8Array(5)).subarray(0, Math.floor(random() * 69)));
  }
  return concat(...parts);
}

Deno.test("Frame64Parser agrees with a reference parser on 100,000 random inputs split at random", () => {
  const random = rng(0x5eed);
  const cap = 64;
  for (let run = 0; run < 100_000; run++) {
    const input = randomInput(random);
    const chunks: Uint8Array[] = [];
    for (let offset = 0; offset < input.length;) {
      const size = 1 + Math.floor(random() * (random() < 0.5 ? 4 : 100));
      chunks.push(input.subarray(offset, offset + size));
      offset += size;
    }
    let maxBuffered = 0;
    const bodies: string[] = [];
    const parser = new Frame64Parser((body) => bodies.push(Array.from(body).join(",")), {
      maxBodyBytes: cap,
    });
    let code: string | null = null;
    try {
      for (const chunk of chunks) {
        parser.push(chunk);
        maxBuffered = Math.max(maxBuffered, parser.bufferedBytes);
      }
    } catch (error) {
      assert.ok(error instanceof FramingError, `run ${run}: untyped error ${error}`);
      code = error.code;
    }
    const expected = referenceParse(input, cap);
    assert.deepEqual({ bodies, code }, expected, `run ${run}`);
    assert.ok(maxBuffered <= cap + HEADER_BYTES, `run ${run}: buffered ${maxBuffered}`);
  }
});

Deno.test("Frame64Parser hands bodies to a sink object, whole and split", () => {
  const bodies: string[] = [];
  const sink = {
    prefix: "got ",
    onBody(body: Uint8Array) {
      bodies.push(this.prefix + text.decode(body));
    },
  };
  const parser = new Frame64Parser(sink, { maxBodyBytes: 100 });
  const bytes = concat(encodeFrame(utf8.encode("one")), encodeFrame(utf8.encode("two")));
  parser.push(bytes.subarray(0, 70));
  parser.push(bytes.subarray(70));
  assert.deepEqual(bodies, ["got one", "got two"]);
});
