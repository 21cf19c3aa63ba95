import assert from "node:assert/strict";
import { BenchProcess, canPin, effectiveNofile, wrapArgv } from "./child.ts";

Deno.test("wrapArgv adds taskset and the ulimit shell only when asked", () => {
  assert.deepEqual(wrapArgv({ argv: ["prog", "x"], cpu: null, nofile: null }), ["prog", "x"]);
  const argv = wrapArgv({ argv: ["prog", "x"], cpu: 0, nofile: 4096 });
  assert.deepEqual(argv.slice(0, 5), ["taskset", "-c", "0", "bash", "-c"]);
  assert.match(argv[5]!, /^ulimit -n 4096 .*exec "\$@"$/);
  assert.deepEqual(argv.slice(6), ["bench", "prog", "x"]);
});

Deno.test("BenchProcess hands over stdout lines, keeps stderr, and stops with SIGTERM", async () => {
  const lines: string[] = [];
  const child = BenchProcess.spawn({
    argv: ["bash", "-c", "echo one; echo two; echo oops >&2; exec sleep 30"],
    cpu: null,
    nofile: 1024,
    onLine: (line) => lines.push(line),
  });
  for (let i = 0; i < 200 && lines.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(child.exited, false);
  const result = await child.stop(5000);
  await child.drained;
  assert.deepEqual(lines, ["one", "two"]);
  assert.equal(child.stderrTail, "oops\n");
  assert.equal(result.signal, "SIGTERM");
  assert.equal(result.killed, false);
  assert.equal(child.exited, true);
});

Deno.test("BenchProcess.stop falls back to SIGKILL when SIGTERM is ignored", async () => {
  const lines: string[] = [];
  const child = BenchProcess.spawn({
    argv: ["bash", "-c", "trap '' TERM; echo ready; while true; do sleep 0.05; done"],
    cpu: null,
    nofile: null,
    onLine: (line) => lines.push(line),
  });
  for (let i = 0; i < 200 && lines.length < 1; i++) await new Promise((r) => setTimeout(r, 10));
  const result = await child.stop(200);
  await child.drained;
  assert.equal(result.killed, true);
  assert.equal(result.signal, "SIGKILL");
});

Deno.test("BenchProcess.waitFor tells whether the process exited in time", async () => {
  const child = BenchProcess.spawn({ argv: ["bash", "-c", "exit 3"], cpu: null, nofile: null });
  assert.equal(await child.waitFor(5000), true);
  const result = await child.stop(100);
  await child.drained;
  assert.equal(result.code, 3);
  assert.equal(result.killed, false);
});

Deno.test("effectiveNofile gives a limit no higher than asked, and canPin refuses a bad core", async () => {
  const limit = await effectiveNofile(512);
  assert.equal(limit, 512);
  assert.equal(await canPin(-1), false);
});
