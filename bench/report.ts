/**
 * The benchmark's records (what `bench/results/latest.json` holds per run) and the tables
 * printed from them.
 *
 * @module
 */

import type { LoadOptions, LoadResult } from "./load.ts";

/** What the driver measured of the server process during one run. */
export interface ServerStats {
  /** From spawning the server until it printed its port. */
  readonly startMs: number | null;
  /** VmRSS after start-up, before any client connected, KiB. */
  readonly rssBaseKb: number | null;
  /** The largest VmRSS sampled (every 200 ms and at each phase), KiB. */
  readonly rssMaxKb: number | null;
  /** VmHWM at the end: the peak RSS the kernel saw, KiB. */
  readonly peakRssKb: number | null;
  readonly threadsMax: number | null;
  /** CPU seconds from the baseline sample to the end of the load. */
  readonly cpuSecondsRun: number | null;
  /** CPU seconds from the baseline until every join notice had arrived (join cost). */
  readonly cpuSecondsJoin: number | null;
  /** CPU seconds and % of one core inside the measurement window. */
  readonly cpuSecondsWindow: number | null;
  readonly cpuPctWindow: number | null;
  /** Idle runs: VmRSS 1 s after every client had joined and settled, KiB. */
  readonly rssJoinedKb: number | null;
  /** Idle runs: (joined RSS - baseline RSS) / joined clients, KiB. */
  readonly rssPerConnKb: number | null;
  /** How the server ended after SIGTERM, and how long that took. */
  readonly exitCode: number | null;
  readonly exitSignal: string | null;
  readonly stopMs: number | null;
  /** Whether it had to be killed with SIGKILL. */
  readonly killed: boolean;
  /** The end of its stderr (only when something went wrong). */
  readonly stderrTail: string | null;
}

/** What the driver measured of the load process. */
export interface LoadProcessStats {
  /** CPU % of one core inside the window: near 100 means the numbers may be load-bound. */
  readonly cpuPctWindow: number | null;
  /** CPU seconds from its start until every join notice had arrived. */
  readonly cpuSecondsJoin: number | null;
  readonly peakRssKb: number | null;
  readonly exitCode: number | null;
  readonly stderrTail: string | null;
}

/** Kernel memory while every idle client was connected (both ends live on this host). */
export interface KernelStats {
  readonly slabDeltaKb: number;
  /** Slab delta / (2 x connections): approximate, system-wide. */
  readonly slabPerSocketKb: number;
}

/** One run of the benchmark, as written to the JSON summary. */
export interface RunRecord {
  readonly label: string;
  readonly group: string;
  readonly title: string;
  readonly idle: boolean;
  readonly loadOptions: Omit<LoadOptions, "host" | "port" | "port2">;
  readonly server: ServerStats;
  readonly loadProcess: LoadProcessStats;
  readonly kernel: KernelStats | null;
  readonly result: LoadResult | null;
  /** Why the run failed or was skipped; null when it ran. */
  readonly error: string | null;
  /**
   * A cluster run: the CPU seconds of each node in the window (the `server` fields are the
   * first node's), and of Redis.
   */
  readonly nodes?: {
    readonly cpuSecondsWindow: readonly (number | null)[];
    readonly redisCpuSecondsWindow: number | null;
  };
}

/**
 * Formats a count compactly: `1.23M`, `456k`, `9,876`.
 *
 * @param value the number, or null for none
 * @param digits decimals below 10,000
 * @returns the text; `–` for null
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatCount } from "./report.ts";
 * assert.ok(formatCount(1_234_567) === "1.23M" && formatCount(45_600) === "46k");
 * ```
 */
export function formatCount(value: number | null, digits = 0): string {
  if (value === null || !Number.isFinite(value)) return "–";
  const size = Math.abs(value);
  if (size >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (size >= 1e4) return `${Math.round(value / 1e3)}k`;
  return value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/**
 * Formats a latency given in microseconds as milliseconds with sensible precision.
 *
 * @param us the latency in µs; null means it falls among undelivered messages
 * @param undelivered whether any messages were missing (then null reads `>drain`)
 * @returns the text
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatMs } from "./report.ts";
 * assert.ok(formatMs(2796) === "2.80" && formatMs(16_400) === "16.4" && formatMs(null, true) === ">drain");
 * ```
 */
export function formatMs(us: number | null, undelivered = false): string {
  if (us === null) return undelivered ? ">drain" : "–";
  const ms = us / 1000;
  if (ms < 10) return ms.toFixed(2);
  if (ms < 100) return ms.toFixed(1);
  return formatCount(Math.round(ms));
}

function _mb(kb: number | null): string {
  return kb === null ? "–" : (kb / 1024).toFixed(1);
}

function _ns(value: number | null): string {
  return value === null ? "–" : value.toFixed(0);
}

function _pct(value: number | null): string {
  return value === null ? "–" : value.toFixed(0);
}

/**
 * The notes for a run: its error, and every check or counter that is not as it should be.
 *
 * @param record the run
 * @returns short phrases, empty when all is well
 */
export function runNotes(record: RunRecord): string[] {
  const notes: string[] = [];
  if (record.error !== null) notes.push(record.error);
  const result = record.result;
  if (result !== null) {
    const counters: [number, string][] = [
      [result.corrupt, "corrupt"],
      [result.misattributed, "misattributed"],
      [result.crossRoom, "CROSS-ROOM"],
      [result.reordered, "reordered"],
      [result.gaps, "gaps"],
      [result.hsErrors, "handshake errors"],
      [result.serverErrors, "server errors"],
      [result.rateLimited, "rate_limited"],
      [result.connectErrors, "connect errors"],
      [result.eofs, "closed by server"],
      [result.readErrors, "read errors"],
      [result.writeErrors, "write errors"],
      [result.framingErrors, "framing errors"],
      [result.badJson, "bad JSON"],
      [result.stalled, "stall releases"],
      [result.skippedSends, "skipped sends"],
      [result.historyMsgs, "history replays"],
    ];
    for (const [count, what] of counters) if (count > 0) notes.push(`${what}=${count}`);
    if (result.leaves > 0) {
      const reasons = Object.entries(result.leaveReasons)
        .map(([reason, count]) => `${reason} ${count}`).join(", ");
      notes.push(`leave notices=${result.leaves}${reasons === "" ? "" : ` (${reasons})`}`);
    }
    if (result.joined < result.options.clients) {
      notes.push(`joined ${result.joined} of ${result.options.clients}`);
    }
    if (!result.settled) {
      notes.push(`join notices ${result.joinEvents} of ${result.joinEventsExpected}`);
    }
    if (result.firstError !== null) notes.push(`first error: ${result.firstError.slice(0, 120)}`);
  }
  const loadCpu = record.loadProcess.cpuPctWindow;
  if (loadCpu !== null && loadCpu >= 90) notes.push(`load process at ${loadCpu.toFixed(0)}% CPU`);
  if (record.server.killed) notes.push("server needed SIGKILL");
  else if (record.server.exitCode !== null && record.server.exitCode !== 0) {
    notes.push(`server exit code ${record.server.exitCode}`);
  }
  return notes;
}

/**
 * The server's CPU time per delivery in a traffic run: its CPU seconds inside the window over
 * the deliveries received in the window (the shared harness's `cpu_ns_per_delivery`). The
 * sender's own echo is not a delivery, so its cost is in the figure.
 *
 * @param record a run
 * @returns nanoseconds, or null for an idle run or one without the numbers
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cpuNsPerDelivery, type RunRecord } from "./report.ts";
 * const record = {
 *   idle: false,
 *   loadOptions: { duration: 10 },
 *   server: { cpuSecondsWindow: 5 },
 *   result: { deliveriesPerSec: 2_000_000 },
 * } as unknown as RunRecord;
 * assert.ok(cpuNsPerDelivery(record) === 250);
 * ```
 */
export function cpuNsPerDelivery(record: RunRecord): number | null {
  const seconds = record.server.cpuSecondsWindow;
  const perSec = record.result?.deliveriesPerSec ?? 0;
  if (record.idle || seconds === null || !(perSec > 0)) return null;
  return (seconds * 1e9) / (perSec * record.loadOptions.duration);
}

/** The header of the traffic table (scenarios a, b, r and m). */
export const TRAFFIC_HEADERS: readonly string[] = Object.freeze([
  "scenario",
  "clients",
  "deliveries/s",
  "sent msg/s",
  "loss %",
  "p50 ms",
  "p99 ms",
  "max ms",
  "ack p50/p99 ms",
  "server CPU %",
  "server ns/delivery",
  "server peak RSS MB",
  "load CPU %",
  "notes",
]);

/**
 * One row of the traffic table. Latency percentiles count missing messages as infinitely late
 * (`>drain`), as the shared harness does.
 *
 * @param record a traffic run
 * @returns the cells, in the order of {@linkcode TRAFFIC_HEADERS}
 */
export function trafficRow(record: RunRecord): string[] {
  const r = record.result;
  const missing = r !== null && r.delivered < r.expected;
  const latency = r?.latencyInclUndeliveredUs;
  return [
    record.label,
    String(record.loadOptions.clients),
    r === null ? "–" : formatCount(r.deliveriesPerSec),
    r === null ? "–" : formatCount(r.sentPerSec),
    r === null || r.lossPct === null ? "–" : r.lossPct.toFixed(r.lossPct < 0.01 ? 3 : 2),
    latency === undefined ? "–" : formatMs(latency.p50, missing),
    latency === undefined ? "–" : formatMs(latency.p99, missing),
    r === null ? "–" : missing ? ">drain" : formatMs(r.latencyUs.max),
    r === null ? "–" : `${formatMs(r.ackUs.p50, true)} / ${formatMs(r.ackUs.p99, true)}`,
    _pct(record.server.cpuPctWindow),
    _ns(cpuNsPerDelivery(record)),
    _mb(record.server.peakRssKb),
    _pct(record.loadProcess.cpuPctWindow),
    runNotes(record).join("; "),
  ];
}

/**
 * The header of the idle table (scenarios c, j, c20k). `welcome s` is the first connect until
 * the last `welcome` (the join storm's figure); `join s` adds the wait until every join notice
 * has arrived.
 */
export const IDLE_HEADERS: readonly string[] = Object.freeze([
  "scenario",
  "joined / asked",
  "welcome s",
  "join s",
  "joins/s",
  "server CPU s to join",
  "load CPU s to join",
  "RSS before MB",
  "RSS joined MB",
  "RSS per conn KB",
  "server peak RSS MB",
  "kernel slab per socket KB",
  "live at end",
  "notes",
]);

/**
 * One row of the idle table.
 *
 * @param record an idle run
 * @returns the cells, in the order of {@linkcode IDLE_HEADERS}
 */
export function idleRow(record: RunRecord): string[] {
  const r = record.result;
  const s = record.server;
  return [
    record.label,
    r === null ? `– / ${record.loadOptions.clients}` : `${r.joined} / ${r.options.clients}`,
    r === null ? "–" : (r.joinMs / 1000).toFixed(1),
    r === null ? "–" : ((r.joinMs + r.settleMs) / 1000).toFixed(1),
    r === null || r.joinMs <= 0 ? "–" : formatCount(r.joined / (r.joinMs / 1000)),
    s.cpuSecondsJoin === null ? "–" : s.cpuSecondsJoin.toFixed(1),
    record.loadProcess.cpuSecondsJoin === null ? "–" : record.loadProcess.cpuSecondsJoin.toFixed(1),
    _mb(s.rssBaseKb),
    _mb(s.rssJoinedKb),
    s.rssPerConnKb === null ? "–" : s.rssPerConnKb.toFixed(2),
    _mb(s.peakRssKb),
    record.kernel === null ? "–" : record.kernel.slabPerSocketKb.toFixed(2),
    r === null ? "–" : String(r.liveAtEnd),
    runNotes(record).join("; "),
  ];
}

/**
 * Lays out a table as aligned text, which is also a Markdown table.
 *
 * @param headers the column names
 * @param rows the cells, one array per row
 * @returns the lines of the table, joined with newlines
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatTable } from "./report.ts";
 * const table = formatTable(["a", "bb"], [["1", "2"]]);
 * assert.ok(table === "| a | bb |\n|---|----|\n| 1 | 2  |");
 * ```
 */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...rows.map((row) => (row[i] ?? "").length))
  );
  const line = (cells: readonly string[]) =>
    `| ${widths.map((width, i) => (cells[i] ?? "").padEnd(width)).join(" | ")} |`;
  return [
    line(headers),
    `|${widths.map((width) => "-".repeat(width + 2)).join("|")}|`,
    ...rows.map(line),
  ].join("\n");
}

/**
 * The tables for a set of runs: traffic runs first, then idle runs; an empty group is left out.
 *
 * @param records the runs
 * @returns the text to print
 */
export function renderTables(records: readonly RunRecord[]): string {
  const parts: string[] = [];
  const traffic = records.filter((record) => !record.idle);
  const idle = records.filter((record) => record.idle);
  if (traffic.length > 0) parts.push(formatTable(TRAFFIC_HEADERS, traffic.map(trafficRow)));
  if (idle.length > 0) parts.push(formatTable(IDLE_HEADERS, idle.map(idleRow)));
  return parts.join("\n\n");
}

/**
 * The cluster comparison: for each node of the cluster run, its CPU per delivery next to the
 * single node's of scenario b in the same benchmark, with the cross-node latency.
 *
 * @param records every run of the benchmark
 * @returns the lines, or none when there was no cluster run with a b run beside it
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { clusterLines } from "./report.ts";
 * assert.deepEqual(clusterLines([]), []);
 * ```
 */
export function clusterLines(records: readonly RunRecord[]): string[] {
  const cluster = records.find((r) => r.nodes !== undefined && r.result !== null);
  const single = records.find((r) => r.group === "b" && r.result !== null);
  const result = cluster?.result;
  if (cluster?.nodes === undefined || result === undefined || result === null) return [];
  const micro = (seconds: number | null | undefined, deliveries: number | null | undefined) =>
    seconds === null || seconds === undefined || !deliveries ? null : (1e6 * seconds) / deliveries;
  const show = (us: number | null) => us === null ? "–" : `${us.toFixed(2)} µs`;
  const singleUs = single === undefined || single.result === null ? null : micro(
    single.server.cpuSecondsWindow,
    single.result.deliveriesPerSec * single.result.options.duration,
  );
  const lines = ["Cluster (two nodes and Redis) next to one node (b), CPU per delivery:"];
  lines.push(`  one node, no Redis: ${show(singleUs)}`);
  const delivered = result.crossNode?.deliveredByNode ?? [];
  cluster.nodes.cpuSecondsWindow.forEach((seconds, i) => {
    const us = micro(seconds, delivered[i]);
    const ratio = us === null || singleUs === null ? "" : ` (${(us / singleUs).toFixed(2)}x)`;
    lines.push(
      `  node ${i + 1}: ${show(us)}${ratio}, ${formatCount(delivered[i] ?? null)} deliveries`,
    );
  });
  const redis = cluster.nodes.redisCpuSecondsWindow;
  lines.push(`  Redis: ${redis === null ? "–" : `${redis} CPU s in the window`}`);
  const cross = result.crossNode?.latencyUs;
  const ms = (us: number | null | undefined) =>
    us === null || us === undefined ? "–" : `${(us / 1000).toFixed(1)} ms`;
  lines.push(
    `  cross-node latency: p50 ${ms(cross?.p50)}, p99 ${ms(cross?.p99)} (${
      formatCount(cross?.count ?? null)
    } deliveries); loss ${result.lossPct ?? "–"}%`,
  );
  return lines;
}
