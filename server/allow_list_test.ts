import assert from "node:assert/strict";
import { AllowList, AllowListError, parseAllowList } from "./allow_list.ts";
import { tempDir } from "../tests/support/temp.ts";

const A = "SHA256:" + "A".repeat(43);
const B = "SHA256:" + "B".repeat(43);

Deno.test("parseAllowList reads fingerprints, skipping comments, notes and blank lines", () => {
  const list = parseAllowList(`# team\n${A} alice\n\n  ${B}   # bob\n`);
  assert.ok(list instanceof Set);
  assert.deepEqual([...list], [A, B]);
});

Deno.test("parseAllowList names the first line that is not a fingerprint", () => {
  const result = parseAllowList(`${A}\nalice\n`);
  assert.ok(result instanceof Error);
  assert.match(result.message, /^Line 2 is not a fingerprint/);
});

Deno.test("AllowList refuses to start from a missing file, and keeps the old list on a bad reload", async () => {
  const dir = tempDir("chat-allow-list-");
  const failures: string[] = [];
  const events = { loaded: () => {}, failed: (message: string) => failures.push(message) };
  try {
    await assert.rejects(() => AllowList.load(`${dir}/missing`, events), AllowListError);
    await Deno.writeTextFile(`${dir}/allow`, `${A}\n`);
    const list = await AllowList.load(`${dir}/allow`, events);
    assert.ok(list.allows(A) && !list.allows(B) && !list.allows(undefined));
    await Deno.writeTextFile(`${dir}/allow`, "oops\n");
    assert.equal(await list.reload(), false);
    assert.ok(list.allows(A), "the old list stays");
    assert.equal(failures.length, 1);
    list.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
