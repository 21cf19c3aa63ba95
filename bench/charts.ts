/**
 * The benchmark's charts: SVG pictures of a JSON summary of `deno task bench` (server CPU per
 * delivery and deliveries per second per scenario, the latency distribution of the open-loop
 * scenarios) and of the soak's memory curve. Each chart is a Vega-Lite specification, compiled
 * by `vega-lite` and rendered to SVG by `vega`'s headless `View`: no browser, no canvas, and no
 * SVG written by hand.
 *
 * Run by itself, it draws the charts of a summary again (from `deno task bench` or the soak):
 *
 * ```sh
 * deno run --allow-read --allow-write bench/charts.ts bench/charts/bench.json
 * ```
 *
 * @module
 */

import { parse, View } from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { cpuNsPerDelivery, type RunRecord } from "./report.ts";
import type { SoakSample } from "./soak.ts";

/** What `deno task bench` writes to its JSON summary, as far as the charts read it. */
export interface BenchSummary {
  readonly meta: { readonly date: string; readonly quick: boolean };
  readonly runs: readonly RunRecord[];
}

/** One rendered chart. */
export interface Chart {
  /** A short name for the file, such as `cpu-per-delivery`. */
  readonly name: string;
  /** The SVG document. */
  readonly svg: string;
}

/** The scenarios whose latency distribution is drawn: the open-loop ones. */
export const LATENCY_SCENARIOS: readonly string[] = Object.freeze(["b", "r"]);

const _WIDTH = 360;
const _HEIGHT = 220;

/**
 * Renders one Vega-Lite specification to an SVG document.
 *
 * @param spec the specification, data inline
 * @returns the SVG text
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

function _subtitle(summary: BenchSummary): string {
  return `deno task bench${summary.meta.quick ? " --quick" : ""}, ${
    summary.meta.date.slice(0, 10)
  }`;
}

function _bars(
  title: string,
  subtitle: string,
  values: { scenario: string; value: number }[],
  axis: string,
  format: string,
): TopLevelSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: title, subtitle },
    width: _WIDTH,
    height: _HEIGHT,
    background: "white",
    data: { values },
    layer: [
      {
        mark: { type: "bar", color: "#4c78a8" },
        encoding: {
          // In the order the scenarios ran, not sorted by name.
          x: {
            field: "scenario",
            type: "nominal",
            title: "scenario",
            sort: null,
            axis: { labelAngle: 0 },
          },
          y: { field: "value", type: "quantitative", title: axis },
        },
      },
      {
        // The figure on each bar, so the chart can be read without a ruler.
        mark: { type: "text", dy: -6, aria: false },
        encoding: {
          x: { field: "scenario", type: "nominal", sort: null },
          y: { field: "value", type: "quantitative" },
          text: { field: "value", type: "quantitative", format },
        },
      },
    ],
  };
}

/**
 * The charts of one benchmark run: `cpu-per-delivery` and `deliveries` (one bar per traffic
 * scenario that produced the numbers), and `latency` (the percentile curves of the scenarios in
 * {@linkcode LATENCY_SCENARIOS} that ran). A chart with nothing to show is left out.
 *
 * @param summary the JSON summary of `deno task bench`
 * @returns the charts, in that order
 */
export async function benchCharts(summary: BenchSummary): Promise<Chart[]> {
  const subtitle = _subtitle(summary);
  const traffic = summary.runs.filter((run) => !run.idle && run.result !== null);
  const charts: Chart[] = [];
  const cpu = traffic.flatMap((run) => {
    const ns = cpuNsPerDelivery(run);
    return ns === null ? [] : [{ scenario: run.label, value: Math.round(ns) }];
  });
  if (cpu.length > 0) {
    charts.push({
      name: "cpu-per-delivery",
      svg: await renderSvg(
        _bars("Server CPU per delivery", subtitle, cpu, "server CPU ns per delivery", ",.0f"),
      ),
    });
  }
  const rate = traffic.map((run) => ({
    scenario: run.label,
    value: run.result?.deliveriesPerSec ?? 0,
  }));
  if (rate.length > 0) {
    charts.push({
      name: "deliveries",
      svg: await renderSvg(_bars("Deliveries per second", subtitle, rate, "deliveries/s", ".3s")),
    });
  }
  const points = traffic
    .filter((run) => LATENCY_SCENARIOS.includes(run.group))
    .flatMap((run) => _latencyPoints(run));
  if (points.length > 0) {
    charts.push({ name: "latency", svg: await renderSvg(_latencySpec(subtitle, points)) });
  }
  return charts;
}

interface _LatencyPoint {
  readonly scenario: string;
  readonly percent: number;
  /** How many nines: -log10(1 - percent/100), so the tail gets the room it needs. */
  readonly nines: number;
  readonly ms: number;
}

/** The largest number of nines drawn: 99.99 %; the maximum is drawn there too. */
const _MAX_NINES = 4;

function _latencyPoints(run: RunRecord): _LatencyPoint[] {
  const r = run.result;
  if (r === null) return [];
  const summary = r.latencyInclUndeliveredUs;
  // Summaries written before the curve was recorded still have their percentiles.
  const curve = r.latencyCurveUs ?? [
    [50, summary.p50],
    [90, summary.p90],
    [99, summary.p99],
    [99.9, summary.p999],
    [100, summary.max],
  ];
  return curve.flatMap(([percent, us]) => {
    // A percentile among the undelivered messages has no value: the curve stops there.
    if (us === null) return [];
    const nines = percent >= 100
      ? _MAX_NINES
      : Math.min(_MAX_NINES, -Math.log10(1 - percent / 100));
    return [{ scenario: run.label, percent, nines, ms: Math.max(us, 1) / 1000 }];
  });
}

function _latencySpec(subtitle: string, values: _LatencyPoint[]): TopLevelSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: "Latency distribution (send to arrival)",
      subtitle: `${subtitle}; the last point of a curve is its maximum`,
    },
    width: _WIDTH,
    height: _HEIGHT,
    background: "white",
    data: { values },
    mark: { type: "line", point: true },
    encoding: {
      x: {
        field: "nines",
        type: "quantitative",
        title: "percentile",
        scale: { domain: [0, _MAX_NINES] },
        // 0 nines is p0, 1 is p90, 2 is p99...
        axis: {
          values: [0, 1, 2, 3, 4],
          labelExpr: "['p0', 'p90', 'p99', 'p99.9', 'p99.99'][datum.value]",
        },
      },
      y: { field: "ms", type: "quantitative", title: "latency ms (log)", scale: { type: "log" } },
      color: { field: "scenario", type: "nominal", title: "scenario" },
    },
  };
}

/**
 * The soak's memory curve: the server's resident memory over time, with the end of the
 * warm-up marked.
 *
 * @param samples the soak's samples, in time order
 * @param warmupSeconds the warm-up, left out of the flatness verdict
 * @param subtitle what ran, such as `1000 clients, 50 msg/s, 10 min`
 * @returns the `soak-rss` chart
 */
export async function soakChart(
  samples: readonly SoakSample[],
  warmupSeconds: number,
  subtitle: string,
): Promise<Chart> {
  const values = samples.map((sample) => ({ t: sample.t, mib: sample.rssKb / 1024 }));
  const spec: TopLevelSpec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: "Soak: server resident memory", subtitle },
    width: _WIDTH * 1.5,
    height: _HEIGHT,
    background: "white",
    layer: [
      {
        data: { values },
        mark: { type: "line", point: true },
        encoding: {
          x: { field: "t", type: "quantitative", title: "seconds of chat" },
          y: {
            field: "mib",
            type: "quantitative",
            title: "RSS MiB",
            scale: { zero: false },
          },
        },
      },
      {
        data: { values: [{ t: warmupSeconds, label: "end of warm-up" }] },
        mark: { type: "rule", strokeDash: [4, 4], color: "gray" },
        encoding: { x: { field: "t", type: "quantitative" } },
      },
    ],
  };
  return { name: "soak-rss", svg: await renderSvg(spec) };
}

/**
 * Where a chart goes: next to the JSON file it was drawn from, named after both
 * (`latest.json` gives `latest.cpu-per-delivery.svg`).
 *
 * @param jsonPath the JSON summary's path
 * @param chart the chart's name
 * @returns the SVG file's path
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { chartPath } from "./charts.ts";
 * assert.ok(chartPath("/x/latest.json", "latency") === "/x/latest.latency.svg");
 * ```
 */
export function chartPath(jsonPath: string, chart: string): string {
  return `${jsonPath.replace(/\.json$/, "")}.${chart}.svg`;
}

/**
 * Renders the charts of a summary and writes them next to its JSON file.
 *
 * @param jsonPath where the JSON summary was written
 * @param charts the charts to write
 * @returns the paths written
 */
export async function writeCharts(jsonPath: string, charts: readonly Chart[]): Promise<string[]> {
  const paths: string[] = [];
  for (const chart of charts) {
    const path = chartPath(jsonPath, chart.name);
    await Deno.writeTextFile(path, chart.svg);
    paths.push(path);
  }
  return paths;
}

async function _main(args: readonly string[]): Promise<number> {
  const path = args[0];
  if (args.length !== 1 || path === undefined) {
    // deno-lint-ignore no-console
    console.error("Usage: deno run --allow-read --allow-write bench/charts.ts SUMMARY.json");
    return 2;
  }
  const summary = JSON.parse(await Deno.readTextFile(path));
  const charts = Array.isArray(summary.samples)
    ? [
      await soakChart(
        summary.samples,
        summary.meta.options.warmup * 60,
        `${summary.meta.options.clients} clients, ${summary.meta.options.rate} msg/s, ` +
          `${summary.meta.options.minutes} min, ${String(summary.meta.date).slice(0, 10)}`,
      ),
    ]
    : await benchCharts(summary as BenchSummary);
  // deno-lint-ignore no-console
  for (const written of await writeCharts(path, charts)) console.log(written);
  return 0;
}

if (import.meta.main) {
  Deno.exit(await _main(Deno.args));
}
