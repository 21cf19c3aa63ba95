import assert from "node:assert/strict";
import { detectFraming } from "./detect.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

Deno.test("detectFraming waits while the bytes can still be a frame64 header", () => {
  for (const prefix of ["", "1", "12", "12   ", "   ", "0" + " ".repeat(62)]) {
    assert.equal(detectFraming(bytes(prefix)), undefined, JSON.stringify(prefix));
  }
});

Deno.test("detectFraming picks frame64 for 64 bytes of digits then spaces", () => {
  assert.equal(detectFraming(bytes("12".padEnd(64, " ") + "hello world")), "frame64");
  assert.equal(detectFraming(bytes(" ".repeat(64))), "frame64");
});

Deno.test("detectFraming picks line mode at a LF or any byte that cannot continue a header", () => {
  for (
    const prefix of ["alice", "\n", "12\n", "12\r\n", "1 2", "GET / HTTP/1.1\r\n", "\x16\x03\x01"]
  ) {
    assert.equal(detectFraming(bytes(prefix)), "line", JSON.stringify(prefix));
  }
});
