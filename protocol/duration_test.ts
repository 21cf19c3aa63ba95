import assert from "node:assert/strict";
import { looksLikeDuration, MAX_DURATION_MS, parseDuration } from "./duration.ts";
import { ProtocolError } from "./errors.ts";

Deno.test("parseDuration reads seconds, minutes, hours, days and weeks", () => {
  assert.equal(parseDuration("90s"), 90_000);
  assert.equal(parseDuration("10m"), 600_000);
  assert.equal(parseDuration("2h"), 7_200_000);
  assert.equal(parseDuration("7d"), 7 * 86_400_000);
  assert.equal(parseDuration("2w"), 14 * 86_400_000);
  assert.equal(parseDuration("365d"), MAX_DURATION_MS);
});

Deno.test("parseDuration refuses malformed, negative, zero and absurd durations", () => {
  for (
    const [text, words] of [
      ["10x", "Not a duration"],
      ["m10", "Not a duration"],
      ["1.5h", "Not a duration"],
      ["10 m", "Not a duration"],
      ["", "Not a duration"],
      ["-5m", "cannot be negative"],
      ["0m", "more than zero"],
      ["99999999d", "at most a year"],
      ["366d", "at most a year"],
      ["9999999999999999999d", "Not a duration"],
    ] as const
  ) {
    const result = parseDuration(text);
    assert.ok(result instanceof ProtocolError, text);
    assert.equal(result.code, "bad_duration");
    assert.ok(result.message.includes(words), `${text}: ${result.message}`);
  }
});

Deno.test("looksLikeDuration tells a duration attempt from a reason", () => {
  assert.ok(looksLikeDuration("10m"));
  assert.ok(looksLikeDuration("-1d"));
  assert.ok(looksLikeDuration("99999999d"));
  assert.ok(!looksLikeDuration("spamming"));
});
