import assert from "node:assert/strict";
import { UsageError } from "../flags/usage_error.ts";
import { BENCH_HELP, parseBenchArgs } from "./main.ts";
import { type RunEnvironment, runScenario } from "./run.ts";
import { BENCH_SERVER_FLAGS, benchServeArgs, type Scenario, scenariosFor } from "./scenarios.ts";
import { clockTicksPerSecond } from "./proc.ts";

async function environment(nofile: number | null = 4096): Promise<RunEnvironment> {
  return {
    root: decodeURIComponent(new URL("../", import.meta.url).pathname),
    deno: Deno.execPath(),
    server: "chat",
    serverCpu: null,
    loadCpu: null,
    nofileAsked: 4096,
    nofile,
    clockTicks: await clockTicksPerSecond(),
    log: () => {},
  };
}

function tiny(idle: boolean): Scenario {
  return {
    group: idle ? "c" : "a",
    label: idle ? "c/40" : "a",
    title: "tiny",
    idle,
    load: {
      clients: idle ? 40 : 10,
      senders: idle ? 0 : 2,
      rate: 0,
      window: 4,
      warmup: 0.3,
      duration: 0.7,
      drain: 1,
      hold: 2.5,
      batch: 20,
      connectTimeout: 10,
      stall: 2,
      readBufferBytes: 16384,
      rooms: 1,
    },
    upToNofile: false,
  };
}

Deno.test("runScenario runs a server process and a load process and measures both", async () => {
  const record = await runScenario(tiny(false), await environment());
  assert.equal(record.error, null, record.server.stderrTail ?? "");
  assert.ok(record.result !== null);
  assert.equal(record.result.joined, 10);
  assert.ok(record.result.sentInWindow > 0);
  assert.equal(record.result.delivered, record.result.expected);
  assert.ok(record.server.cpuPctWindow !== null && record.server.cpuPctWindow >= 0);
  assert.ok(record.loadProcess.cpuPctWindow !== null);
  assert.ok(record.server.peakRssKb !== null && record.server.peakRssKb > 1024);
  assert.ok(record.server.rssBaseKb !== null);
  assert.equal(record.server.rssPerConnKb, null);
  assert.equal(record.server.exitCode, 0);
  assert.equal(record.server.killed, false);
});

Deno.test("runScenario runs the bare echo relay in place of chat serve", async () => {
  const record = await runScenario(tiny(false), { ...(await environment()), server: "echo" });
  assert.equal(record.error, null, record.server.stderrTail ?? "");
  const result = record.result;
  assert.ok(result !== null);
  assert.equal(result.joined, 10);
  assert.ok(result.settled, "every join notice arrived");
  assert.ok(result.sentInWindow > 0);
  assert.equal(result.delivered, result.expected);
  assert.deepEqual([result.corrupt, result.misattributed, result.badJson], [0, 0, 0]);
  assert.equal(record.server.exitCode, 0);
});

Deno.test("runScenario measures RSS per idle connection", async () => {
  const record = await runScenario(tiny(true), await environment());
  assert.equal(record.error, null, record.server.stderrTail ?? "");
  assert.equal(record.result?.joined, 40);
  assert.equal(record.result?.liveAtEnd, 40);
  assert.ok(record.server.rssJoinedKb !== null);
  assert.ok(record.server.rssPerConnKb !== null);
  assert.ok(record.server.cpuSecondsJoin !== null);
  assert.ok(record.loadProcess.cpuSecondsJoin !== null);
});

Deno.test("runScenario skips a run the open-file limit cannot hold", async () => {
  const record = await runScenario(tiny(true), await environment(100));
  assert.equal(record.result, null);
  assert.match(record.error ?? "", /open-file limit is 100/);
});

Deno.test("scenariosFor gives the standard runs and short ones for --quick", () => {
  const full = scenariosFor(["c20k", "j", "c", "a", "b"], false);
  assert.deepEqual(full.map((run) => run.label), [
    "a",
    "a/tls",
    "b",
    "c/5000",
    "j/10000",
    "c20k/20000",
  ]);
  assert.deepEqual(full.map((run) => run.upToNofile), [false, false, false, false, false, true]);
  assert.equal(full[1]!.tls, true);
  const joins = scenariosFor(["tj"], false);
  assert.deepEqual(joins.map((run) => run.label), ["tj/no-key", "tj/key"]);
  assert.deepEqual(joins.map((run) => [run.tls, run.load.clients, run.load.identity]), [
    [true, 1000, undefined],
    [true, 1000, true],
  ]);
  const [a, , b] = full;
  assert.deepEqual(
    [a!.load.clients, a!.load.senders, a!.load.window, a!.load.rate, a!.load.duration],
    [100, 10, 8, 0, 10],
  );
  assert.deepEqual([b!.load.clients, b!.load.senders, b!.load.rate], [1000, 5, 200]);
  const [r, m] = scenariosFor(["m", "r"], false);
  assert.deepEqual([r!.label, r!.load.clients, r!.load.senders, r!.load.rate], ["r", 1000, 5, 10]);
  assert.deepEqual([m!.label, m!.load.rooms, m!.load.senders], ["m", 10, 20]);
  const quick = scenariosFor(["a", "r", "c", "j", "c20k"], true);
  assert.deepEqual(quick.map((run) => run.label), [
    "a",
    "a/tls",
    "r",
    "c/500",
    "j/2000",
    "c20k/3000",
  ]);
  assert.equal(quick[0]!.load.duration, 3);
  assert.equal(quick[2]!.load.duration, 3);
  assert.throws(() => scenariosFor(["d"], false), UsageError);
  assert.throws(() => scenariosFor([], false), UsageError);
});

Deno.test("benchServeArgs lifts exactly the documented limits on loopback", () => {
  const args = benchServeArgs();
  assert.deepEqual(args.slice(0, 6), ["serve", "--host", "127.0.0.1", "--port", "0", "--quiet"]);
  for (const { flag, value } of BENCH_SERVER_FLAGS) {
    assert.equal(args[args.indexOf(flag) + 1], value);
    assert.ok(BENCH_HELP.includes(`${flag} ${value}`));
  }
  // The server keeps nothing: no benchmark writes to the user's data dir.
  assert.deepEqual(args.slice(6, 8), ["--data", ":memory:"]);
  assert.equal(args.length, 8 + 2 * BENCH_SERVER_FLAGS.length);
});

Deno.test("parseBenchArgs reads --quick, --scenarios, --output and --no-pin", () => {
  assert.deepEqual(parseBenchArgs([]), {
    quick: false,
    groups: ["a", "b", "r", "m", "c", "j", "c20k", "tj", "cluster"],
    output: null,
    pin: true,
    server: "chat",
  });
  assert.deepEqual(
    parseBenchArgs([
      "--quick",
      "--scenarios",
      "b, c",
      "--output",
      "x.json",
      "--no-pin",
      "--server",
      "echo",
    ]),
    {
      quick: true,
      groups: ["b", "c"],
      output: "x.json",
      pin: false,
      server: "echo",
    },
  );
  assert.equal(parseBenchArgs(["-h"]), null);
  assert.throws(() => parseBenchArgs(["--scenarios", "a,z"]), UsageError);
  assert.throws(() => parseBenchArgs(["--fast"]), UsageError);
  assert.throws(() => parseBenchArgs(["--server", "nginx"]), UsageError);
  assert.throws(() => parseBenchArgs(["extra"]), UsageError);
});
