import assert from "node:assert/strict";
import { benchCharts, type BenchSummary, chartPath, soakChart, writeCharts } from "./charts.ts";

/** A small summary in the shape `deno task bench` writes (three traffic runs and an idle one). */
async function _summary(): Promise<BenchSummary> {
  const text = await Deno.readTextFile(new URL("./testdata/summary_small.json", import.meta.url));
  return JSON.parse(text) as BenchSummary;
}

/** The `aria-label`s of everything Vega labelled: marks, axes, legends, titles. */
function _labels(svg: string): string[] {
  return [...svg.matchAll(/aria-label="([^"]*)"/g)].map((match) => match[1]!);
}

/** The `aria-label`s of the marks of one kind (`bar`, `point`, `line mark`). */
function _marks(svg: string, kind: string): string[] {
  return [
    ...svg.matchAll(/aria-label="([^"]*)" role="graphics-symbol" aria-roledescription="([^"]*)"/g),
  ]
    .filter((match) => match[2] === kind).map((match) => match[1]!);
}

function _chart(charts: { name: string; svg: string }[], name: string): string {
  const chart = charts.find((c) => c.name === name);
  assert.ok(chart !== undefined, `no ${name} chart among ${charts.map((c) => c.name).join()}`);
  assert.match(chart.svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  return chart.svg;
}

Deno.test("benchCharts draws one bar of CPU per delivery per traffic scenario", async () => {
  const charts = await benchCharts(await _summary());
  assert.deepEqual(charts.map((c) => c.name), ["cpu-per-delivery", "deliveries", "latency"]);
  const svg = _chart(charts, "cpu-per-delivery");
  const labels = _labels(svg);
  // 1.2 s of CPU over 2M/s for 3 s is 200 ns; 2.1 s over 999k/s is 701; 0.3 s over 49,950/s 2002.
  assert.deepEqual(_marks(svg, "bar"), [
    "scenario: a; server CPU ns per delivery: 200",
    "scenario: b; server CPU ns per delivery: 701",
    "scenario: r; server CPU ns per delivery: 2002",
  ]);
  assert.ok(labels.some((label) => label.startsWith("X-axis titled 'scenario'")));
  assert.ok(labels.some((label) => label.startsWith("Y-axis titled 'server CPU ns per delivery'")));
  assert.ok(!labels.some((label) => label.includes("c/500")), "an idle run has no bar");
});

Deno.test("benchCharts draws deliveries per second per traffic scenario", async () => {
  const svg = _chart(await benchCharts(await _summary()), "deliveries");
  const labels = _labels(svg);
  assert.deepEqual(_marks(svg, "bar"), [
    "scenario: a; deliveries/s: 2000000",
    "scenario: b; deliveries/s: 999000",
    "scenario: r; deliveries/s: 49950",
  ]);
  assert.ok(labels.some((label) => label.startsWith("Y-axis titled 'deliveries/s'")));
});

Deno.test("benchCharts draws the latency curves of b and r only, up to the undelivered", async () => {
  const svg = _chart(await benchCharts(await _summary()), "latency");
  const labels = _labels(svg);
  const points = (scenario: string) =>
    _marks(svg, "point").filter((label) => label.endsWith(`; scenario: ${scenario}`));
  // b has the recorded curve (6 points), r stops where its percentiles fall among the
  // undelivered (4 points); a is closed-loop and has no curve.
  assert.equal(points("b").length, 6);
  assert.equal(points("r").length, 4);
  assert.equal(points("a").length, 0);
  assert.ok(points("b").includes("percentile: 2; latency ms (log): 33; scenario: b"));
  assert.equal(_marks(svg, "line mark").length, 2, "one line per scenario");
  assert.ok(labels.some((label) => label.startsWith("Y-axis titled 'latency ms (log)' for a log")));
  assert.ok(
    labels.some((label) => label.includes("legend titled 'scenario'") && /b, r$/.test(label)),
  );
});

Deno.test("benchCharts falls back to the summary's percentiles without a recorded curve", async () => {
  const summary = await _summary();
  const onlyA: BenchSummary = {
    meta: summary.meta,
    runs: summary.runs.filter((run) => run.label === "a").map((run) => ({ ...run, group: "b" })),
  };
  const svg = _chart(await benchCharts(onlyA), "latency");
  assert.equal(_marks(svg, "point").length, 5);
});

Deno.test("benchCharts leaves out charts with nothing to show", async () => {
  const summary = await _summary();
  const idle: BenchSummary = { meta: summary.meta, runs: summary.runs.filter((run) => run.idle) };
  assert.deepEqual(await benchCharts(idle), []);
});

Deno.test("soakChart draws every sample and marks the warm-up", async () => {
  const samples = [0, 10, 20, 30, 40].map((t) => ({ t, rssKb: 51200 + t, cpuPct: 3 }));
  const chart = await soakChart(samples, 20, "1000 clients");
  assert.equal(chart.name, "soak-rss");
  const labels = _labels(chart.svg);
  const points = _marks(chart.svg, "point");
  assert.equal(points.length, 5);
  assert.equal(points[0], "seconds of chat: 0; RSS MiB: 50");
  assert.match(chart.svg, /class="mark-rule role-mark/);
  assert.ok(labels.some((label) => label.startsWith("Y-axis titled 'RSS MiB'")));
});

Deno.test("writeCharts writes each chart next to its JSON file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const json = `${dir}/run.json`;
    const paths = await writeCharts(json, [{ name: "latency", svg: "<svg/>" }]);
    assert.deepEqual(paths, [chartPath(json, "latency")]);
    assert.equal(await Deno.readTextFile(`${dir}/run.latency.svg`), "<svg/>");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
