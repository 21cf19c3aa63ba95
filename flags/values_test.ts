import assert from "node:assert/strict";
import { describeNumberRule, isHost, parseChoice, parseNumber } from "./values.ts";
import { UsageError } from "./usage_error.ts";

Deno.test("parseNumber reads plain decimal numbers within the range", () => {
  const port = { integer: true, min: 0, max: 65535 };
  assert.equal(parseNumber("--port", "0", port), 0);
  assert.equal(parseNumber("--port", "65535", port), 65535);
  assert.equal(parseNumber("--port", "007", port), 7);
  const seconds = { integer: false, min: 0, aboveMin: true, max: 10 };
  assert.equal(parseNumber("--t", "2.5", seconds), 2.5);
  assert.equal(parseNumber("--t", ".5", seconds), 0.5);
  assert.equal(parseNumber("--t", "10", seconds), 10);
});

Deno.test("parseNumber refuses other spellings and values out of range", () => {
  const port = { integer: true, min: 0, max: 65535 };
  for (
    const text of ["", "abc", "1.5", "-1", "+1", "1e3", "0x10", " 5", "5 ", "65536", "Infinity"]
  ) {
    assert.throws(
      () => parseNumber("--port", text, port),
      (error) =>
        error instanceof UsageError &&
        error.message ===
          `The --port value must be a whole number from 0 to 65535: ${JSON.stringify(text)}`,
      text,
    );
  }
  const above = { integer: false, min: 0, aboveMin: true };
  assert.throws(() => parseNumber("--t", "0", above), UsageError);
  assert.throws(() => parseNumber("--t", "1.", { integer: true, min: 0 }), UsageError);
  assert.throws(() => parseNumber("--n", "99999999999999999999", { integer: true, min: 0 }));
});

Deno.test("describeNumberRule words each kind of range", () => {
  assert.equal(describeNumberRule({ integer: true, min: 1 }), "a whole number of 1 or more");
  assert.equal(
    describeNumberRule({ integer: false, min: 0, zeroMeans: "turns it off" }),
    "a number of 0 or more, where 0 turns it off",
  );
  assert.equal(
    describeNumberRule({ integer: false, min: 0, aboveMin: true, max: 9, unit: "seconds" }),
    "a number of seconds above 0 and at most 9",
  );
  assert.equal(
    describeNumberRule({ integer: false, min: 0, unit: "seconds" }),
    "a number of seconds, 0 or more",
  );
});

Deno.test("parseChoice accepts only the listed words", () => {
  assert.equal(parseChoice("--log", "text", ["text", "json"]), "text");
  assert.throws(
    () => parseChoice("--log", "JSON", ["text", "json"]),
    { name: "UsageError", message: 'The --log value must be "text" or "json": "JSON"' },
  );
  assert.throws(
    () => parseChoice("--x", "d", ["a", "b", "c"]),
    { message: 'The --x value must be "a", "b" or "c": "d"' },
  );
});

Deno.test("isHost accepts names and addresses and refuses anything else", () => {
  for (
    const host of [
      "localhost",
      "example.org",
      "a-b.c_d",
      "10.0.0.2",
      "::",
      "::1",
      "fe80::1%eth0",
      "::ffff:127.0.0.1",
    ]
  ) {
    assert.ok(isHost(host), host);
  }
  for (const host of ["", "a b", "-x", "[::1]", "1:2", "host/path", "user@host", "x".repeat(254)]) {
    assert.ok(!isHost(host), host);
  }
});
