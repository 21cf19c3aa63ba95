import assert from "node:assert/strict";
import { DEFAULT_LOAD_OPTIONS, type LoadResult } from "./load.ts";
import {
  formatCount,
  formatMs,
  formatTable,
  IDLE_HEADERS,
  idleRow,
  renderTables,
  runNotes,
  type RunRecord,
  TRAFFIC_HEADERS,
  trafficRow,
} from "./report.ts";
import { LatencyHistogram } from "./stats.ts";

function latency(values: number[], undelivered = 0) {
  const histogram = new LatencyHistogram();
  for (const value of values) histogram.record(value);
  return histogram.summary(undelivered);
}

function result(overrides: Partial<LoadResult> = {}): LoadResult {
  const { host: _host, ...options } = DEFAULT_LOAD_OPTIONS;
  return {
    options: { ...options, host: "127.0.0.1" },
    joined: 100,
    joinMs: 40,
    handshakeMs: { mean: 1, max: 2 },
    joinEvents: 4950,
    joinEventsExpected: 4950,
    settled: true,
    settleMs: 5,
    sent: 1000,
    sentInWindow: 800,
    expected: 79200,
    delivered: 79200,
    lossPct: 0,
    deliveriesPerSec: 1_234_567,
    sentPerSec: 12_470,
    latencyUs: latency([1500, 2500, 16_000]),
    latencyInclUndeliveredUs: latency([1500, 2500, 16_000]),
    ackUs: latency([1000, 2000]),
    echoes: 800,
    drainMs: 12,
    receivedPerClient: { min: 1000, max: 1000 },
    corrupt: 0,
    misattributed: 0,
    crossRoom: 0,
    moved: 0,
    reordered: 0,
    gaps: 0,
    historyMsgs: 0,
    otherMsgs: 0,
    leaves: 0,
    leaveReasons: {},
    badJson: 0,
    framingErrors: 0,
    pingsAnswered: 0,
    hsErrors: 0,
    serverErrors: 0,
    rateLimited: 0,
    firstError: null,
    connectErrors: 0,
    eofs: 0,
    readErrors: 0,
    writeErrors: 0,
    firstReadError: null,
    stalled: 0,
    skippedSends: 0,
    schedLagUs: { mean: null, max: null },
    liveAtEnd: 100,
    ...overrides,
  };
}

function record(overrides: Partial<RunRecord> = {}, idle = false): RunRecord {
  const { host: _host, port: _port, ...loadOptions } = DEFAULT_LOAD_OPTIONS;
  return {
    label: idle ? "c/5000" : "a",
    group: idle ? "c" : "a",
    title: "test",
    idle,
    loadOptions,
    server: {
      startMs: 80,
      rssBaseKb: 40 * 1024,
      rssMaxKb: 60 * 1024,
      peakRssKb: 61 * 1024,
      threadsMax: 6,
      cpuSecondsRun: 12,
      cpuSecondsJoin: 2.5,
      cpuSecondsWindow: 9.5,
      cpuPctWindow: 95,
      rssJoinedKb: idle ? 80 * 1024 : null,
      rssPerConnKb: idle ? 8.19 : null,
      exitCode: 0,
      exitSignal: null,
      stopMs: 10,
      killed: false,
      stderrTail: null,
    },
    loadProcess: {
      cpuPctWindow: 50,
      cpuSecondsJoin: 1.25,
      peakRssKb: 90_000,
      exitCode: 0,
      stderrTail: null,
    },
    kernel: idle ? { slabDeltaKb: 10_000, slabPerSocketKb: 1 } : null,
    result: result(),
    error: null,
    ...overrides,
  };
}

Deno.test("formatCount and formatMs pick readable units", () => {
  assert.equal(formatCount(2_630_000), "2.63M");
  assert.equal(formatCount(27_400), "27k");
  assert.equal(formatCount(1018), "1,018");
  assert.equal(formatCount(12.34, 1), "12.3");
  assert.equal(formatCount(null), "–");
  assert.equal(formatMs(1454), "1.45");
  assert.equal(formatMs(73_000), "73.0");
  assert.equal(formatMs(5_800_000), "5,800");
  assert.equal(formatMs(null), "–");
  assert.equal(formatMs(null, true), ">drain");
});

Deno.test("trafficRow shows throughput, loss, latency in ms and CPU", () => {
  const row = trafficRow(record());
  assert.equal(row.length, TRAFFIC_HEADERS.length);
  assert.deepEqual(row.slice(0, 13), [
    "a",
    "100",
    "1.23M",
    "12k",
    "0.000",
    "2.51", // 2500 µs lies in the histogram bucket up to 2511 µs
    "16.0",
    "16.0",
    "1.00 / 2.00",
    "95",
    "770", // 9.5 s of CPU over 1,234,567 deliveries/s for 10 s
    "61.0",
    "50",
  ]);
  assert.equal(row[13], "");
});

Deno.test("trafficRow shows >drain when messages are missing", () => {
  const missing = record({
    result: result({
      delivered: 79_000,
      lossPct: 0.2525,
      latencyInclUndeliveredUs: latency([1500, 2500, 16_000], 200),
    }),
  });
  const row = trafficRow(missing);
  assert.equal(row[4], "0.25");
  assert.equal(row[5], ">drain");
  assert.equal(row[7], ">drain");
});

Deno.test("idleRow shows join time, RSS per connection and live connections", () => {
  const row = idleRow(
    record(
      { result: result({ joined: 5000, options: { ...result().options, clients: 5000 } }) },
      true,
    ),
  );
  assert.equal(row.length, IDLE_HEADERS.length);
  assert.equal(row[1], "5000 / 5000");
  assert.equal(row[2], "0.0"); // welcome s
  assert.equal(row[3], "0.0");
  assert.equal(row[4], "125k"); // 5000 joins in 40 ms
  assert.equal(row[5], "2.5");
  assert.equal(row[6], "1.3");
  assert.equal(row[7], "40.0");
  assert.equal(row[8], "80.0");
  assert.equal(row[9], "8.19");
});

Deno.test("runNotes names every anomaly and nothing when all is well", () => {
  assert.deepEqual(runNotes(record()), []);
  const notes = runNotes(record({
    error: "Load process exceeded 45 s and was killed",
    result: result({
      corrupt: 2,
      eofs: 3,
      joined: 90,
      settled: false,
      firstError: '{"type":"error"}',
      leaves: 7,
      leaveReasons: { slow: 5, timeout: 2 },
    }),
    loadProcess: {
      cpuPctWindow: 97,
      cpuSecondsJoin: 1,
      peakRssKb: 1,
      exitCode: 0,
      stderrTail: null,
    },
    server: { ...record().server, killed: true },
  }));
  assert.deepEqual(notes, [
    "Load process exceeded 45 s and was killed",
    "corrupt=2",
    "closed by server=3",
    "leave notices=7 (slow 5, timeout 2)",
    "joined 90 of 100",
    "join notices 4950 of 4950",
    'first error: {"type":"error"}',
    "load process at 97% CPU",
    "server needed SIGKILL",
  ]);
});

Deno.test("formatTable aligns columns and renderTables splits traffic from idle runs", () => {
  assert.equal(
    formatTable(["x", "long header"], [["wide cell", "1"]]),
    "| x         | long header |\n|-----------|-------------|\n| wide cell | 1           |",
  );
  const text = renderTables([record(), record({}, true)]);
  const tables = text.split("\n\n");
  assert.equal(tables.length, 2);
  assert.ok(tables[0]!.startsWith("| scenario | clients | deliveries/s"));
  assert.ok(tables[1]!.includes("RSS per conn KB"));
  assert.equal(renderTables([]), "");
});
