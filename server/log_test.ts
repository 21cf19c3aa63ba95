import assert from "node:assert/strict";
import { createLogger, type LoggerOptions, SILENT_LOGGER } from "./log.ts";

const NOW = new Date("2030-01-02T03:04:05.678Z");

function capture(options: Partial<LoggerOptions> = {}) {
  const lines: string[] = [];
  const log = createLogger({
    format: "text",
    quiet: false,
    logMessages: false,
    ...options,
    write: (line) => lines.push(line),
    now: () => NOW,
  });
  return { log, lines };
}

Deno.test("createLogger text: timestamp, event, key=value fields", () => {
  const { log, lines } = capture();
  log.info("connect", { peer: "127.0.0.1:5000", active: 3, secure: false, skipped: undefined });
  log.error("accept_error", { error: "Too many open files", retry_ms: 20 });
  assert.deepEqual(lines, [
    "2030-01-02T03:04:05.678Z connect peer=127.0.0.1:5000 active=3 secure=false",
    '2030-01-02T03:04:05.678Z ERROR accept_error error="Too many open files" retry_ms=20',
  ]);
});

Deno.test("createLogger text quotes values that could break the line or forge a field", () => {
  const { log, lines } = capture({ logMessages: true });
  log.message({ from: "eve", text: "hi\nFAKE 2030-01-01T00:00:00Z join name=root" });
  log.info("join", { name: "a=b" });
  log.info("join", { name: "" });
  assert.equal(lines.length, 3);
  assert.equal(
    lines[0],
    '2030-01-02T03:04:05.678Z message from=eve text="hi\\nFAKE 2030-01-01T00:00:00Z join name=root"',
  );
  assert.equal(lines[1], '2030-01-02T03:04:05.678Z join name="a=b"');
  assert.equal(lines[2], '2030-01-02T03:04:05.678Z join name=""');
  for (const line of lines) assert.ok(!line.includes("\n"));
});

Deno.test("createLogger json: one object a line with ts, level and event", () => {
  const { log, lines } = capture({ format: "json", logMessages: true });
  log.info("leave", { name: "bob", reason: "quit", online: 2 });
  log.error("internal_error", { error: "boom" });
  log.message({ from: "bob", text: "hello\nworld" });
  assert.deepEqual(lines.map((line) => JSON.parse(line)), [
    {
      ts: NOW.toISOString(),
      level: "info",
      event: "leave",
      name: "bob",
      reason: "quit",
      online: 2,
    },
    { ts: NOW.toISOString(), level: "error", event: "internal_error", error: "boom" },
    { ts: NOW.toISOString(), level: "info", event: "message", from: "bob", text: "hello\nworld" },
  ]);
});

Deno.test("createLogger drops chat text unless logMessages", () => {
  const { log, lines } = capture();
  log.message({ from: "bob", text: "private thoughts" });
  assert.deepEqual(lines, []);
});

Deno.test("createLogger quiet keeps only errors, even with logMessages", () => {
  for (const format of ["text", "json"] as const) {
    const { log, lines } = capture({ format, quiet: true, logMessages: true });
    log.info("connect", { peer: "x" });
    log.message({ from: "bob", text: "hi" });
    log.error("accept_error", { error: "EMFILE" });
    assert.equal(lines.length, 1, format);
    assert.ok(lines[0]!.includes("accept_error"));
  }
});

Deno.test("SILENT_LOGGER accepts everything and writes nothing", () => {
  SILENT_LOGGER.info("x", { a: 1 });
  SILENT_LOGGER.error("y");
  SILENT_LOGGER.message({ text: "z" });
});
