import assert from "node:assert/strict";
import { OutputQueue } from "./output.ts";

Deno.test("OutputQueue keeps order and joins what is written during a write", async () => {
  const written: string[] = [];
  let release: () => void = () => {};
  const out = new OutputQueue(async (bytes) => {
    written.push(new TextDecoder().decode(bytes));
    await new Promise<void>((resolve) => release = resolve);
    return bytes.length;
  });
  out.write("a");
  for (let i = 0; i < 100; i++) out.write(String(i % 10));
  release();
  await new Promise((resolve) => setTimeout(resolve, 0));
  release();
  await out.drain();
  assert.equal(out.writes, 2);
  assert.equal(written.join(""), "a" + "0123456789".repeat(10));
});

Deno.test("OutputQueue finishes partial writes", async () => {
  let text = "";
  const out = new OutputQueue((bytes) => {
    text += new TextDecoder().decode(bytes.subarray(0, 1));
    return Promise.resolve(1);
  });
  out.write("abc");
  await out.drain();
  assert.equal(text, "abc");
});

Deno.test("OutputQueue drops output after a failed write without throwing", async () => {
  let calls = 0;
  const out = new OutputQueue(() => {
    calls++;
    return Promise.reject(new Error("Broken pipe"));
  });
  out.write("x");
  await out.drain();
  assert.equal(out.failed, true);
  out.write("y");
  await out.drain();
  assert.equal(calls, 1);
});
