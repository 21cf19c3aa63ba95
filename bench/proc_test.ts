import assert from "node:assert/strict";
import { clockTicksPerSecond, parseStat, parseStatusField, sampleProcess } from "./proc.ts";

Deno.test("parseStat counts fields from the last parenthesis of the command name", () => {
  const line = "1234 (a) b) (c) R 1 1234 1234 0 -1 4194304 5 0 0 0 700 45 0 0 20 0 3 0 99\n";
  assert.deepEqual(parseStat(line), { state: "R", cpuTicks: 745 });
});

Deno.test("parseStat refuses text that is not a stat line", () => {
  assert.throws(() => parseStat("no parenthesis here"), SyntaxError);
  assert.throws(() => parseStat("1 (x) S 1 2"), SyntaxError);
});

Deno.test("parseStatusField reads the first, a middle and a missing field", () => {
  const status = "VmPeak:\t  900 kB\nVmHWM:\t   812 kB\nVmRSS:\t   640 kB\nThreads:\t7\n";
  assert.equal(parseStatusField(status, "VmPeak"), 900);
  assert.equal(parseStatusField(status, "VmHWM"), 812);
  assert.equal(parseStatusField(status, "VmRSS"), 640);
  assert.equal(parseStatusField(status, "Threads"), 7);
  assert.equal(parseStatusField(status, "VmSwap"), 0);
  assert.equal(parseStatusField(status, "RSS"), 0);
});

Deno.test("sampleProcess reads this process and returns null for a process that is gone", async () => {
  const sample = sampleProcess(Deno.pid);
  assert.ok(sample !== null);
  assert.ok(sample.rssKb > 1000 && sample.hwmKb >= sample.rssKb);
  assert.ok(sample.threads >= 1 && sample.cpuTicks >= 0);
  const child = new Deno.Command("true").spawn();
  await child.status;
  assert.equal(sampleProcess(child.pid), null);
});

Deno.test("clockTicksPerSecond gives a positive whole number", async () => {
  const ticks = await clockTicksPerSecond();
  assert.ok(Number.isSafeInteger(ticks) && ticks > 0);
});
