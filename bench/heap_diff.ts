/**
 * Heap snapshots of a running `chat serve`, summed by what each object is, and the difference of
 * two of them per connection: how "RSS per idle connection" in `bench/README.md` was measured.
 *
 * Start the server with `--inspect=127.0.0.1:9229`, then:
 *
 * ```sh
 * deno run -A bench/heap_diff.ts take --inspect 127.0.0.1:9229 --out before.json
 * # join 3000 idle clients and let them settle (a few seconds after "settled"):
 * deno run -A bench/load.ts --port P --clients 3000 --senders 0 --hold 600
 * deno run -A bench/heap_diff.ts take --inspect 127.0.0.1:9229 --out after.json
 * deno run -A bench/heap_diff.ts diff before.json after.json --per 3000
 * ```
 *
 * `take` asks the inspector for a snapshot (V8 collects garbage first) and writes, for every kind
 * of node (its type and, for objects and closures, its constructor or function name), how many
 * there are and their own bytes; with `--by-holder` (on both snapshots) a kind also names what
 * holds each node (`object Outbox <- object Connection.#outbox`), which tells apart the objects
 * of one constructor. `--raw FILE` keeps the snapshot itself. `diff` prints what grew, in bytes
 * per connection.
 *
 * @module
 */

/** How many nodes of one kind a snapshot holds, and their own bytes. */
export interface KindTotal {
  count: number;
  bytes: number;
}

/** A snapshot summed by kind (`type name`, e.g. `object Session`). */
export type HeapSummary = Record<string, KindTotal>;

/** Node types whose name is data (a string's text, a number), not a kind: summed by type. */
const NAMELESS_TYPES = new Set(["string", "concatenated string", "sliced string", "number"]);

/**
 * Sums a heap snapshot (the `.heapsnapshot` JSON) by node kind.
 *
 * @param snapshot the parsed snapshot
 * @returns count and own bytes per kind
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { summarise } from "./heap_diff.ts";
 * const snapshot = {
 *   snapshot: { meta: { node_fields: ["type", "name", "self_size"], node_types: [["object"]] } },
 *   nodes: [0, 0, 20, 0, 0, 12],
 *   strings: ["Session"],
 * };
 * assert.deepEqual(summarise(snapshot)["object Session"], { count: 2, bytes: 32 });
 * ```
 */
export function summarise(snapshot: HeapSnapshot, byHolder = false): HeapSummary {
  const meta = snapshot.snapshot.meta;
  const fields = meta.node_fields;
  const types = meta.node_types[0] as string[];
  const width = fields.length;
  const typeAt = fields.indexOf("type");
  const nameAt = fields.indexOf("name");
  const sizeAt = fields.indexOf("self_size");
  const nodes = snapshot.nodes;
  const kindOf = (i: number) => {
    const type = types[nodes[i + typeAt]!] ?? "?";
    const name = NAMELESS_TYPES.has(type) ? "" : snapshot.strings[nodes[i + nameAt]!] ?? "?";
    return name === "" ? type : `${type} ${name.slice(0, 60)}`;
  };
  const holders = byHolder ? holderEdges(snapshot) : null;
  const summary: HeapSummary = {};
  for (let i = 0; i < nodes.length; i += width) {
    let kind = kindOf(i);
    const holder = holders?.get(i);
    if (holder !== undefined) kind += ` <- ${kindOf(holder.from)}.${holder.edge}`;
    const total = summary[kind] ??= { count: 0, bytes: 0 };
    total.count++;
    total.bytes += nodes[i + sizeAt]!;
  }
  return summary;
}

/** The parts of a `.heapsnapshot` that {@linkcode summarise} reads. */
export interface HeapSnapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: unknown[];
      edge_fields?: string[];
      edge_types?: unknown[];
    };
  };
  nodes: number[];
  edges?: number[];
  strings: string[];
}

/** For each node (by its offset in `nodes`), one strong edge that holds it: its holder and name. */
function holderEdges(snapshot: HeapSnapshot): Map<number, { from: number; edge: string }> {
  const meta = snapshot.snapshot.meta;
  const width = meta.node_fields.length;
  const edgeCountAt = meta.node_fields.indexOf("edge_count");
  const edgeFields = meta.edge_fields!;
  const edgeTypes = meta.edge_types![0] as string[];
  const edgeWidth = edgeFields.length;
  const typeAt = edgeFields.indexOf("type");
  const nameAt = edgeFields.indexOf("name_or_index");
  const toAt = edgeFields.indexOf("to_node");
  const edges = snapshot.edges!;
  const holders = new Map<number, { from: number; edge: string }>();
  let e = 0;
  for (let from = 0; from < snapshot.nodes.length; from += width) {
    const count = snapshot.nodes[from + edgeCountAt]!;
    for (let k = 0; k < count; k++, e += edgeWidth) {
      const type = edgeTypes[edges[e + typeAt]!];
      if (type === "weak" || type === "shortcut") continue;
      const to = edges[e + toAt]!;
      if (holders.has(to)) continue;
      const name = type === "element" || type === "hidden"
        ? "[]"
        : String(snapshot.strings[edges[e + nameAt]!]).slice(0, 40);
      holders.set(to, { from, edge: name });
    }
  }
  return holders;
}

/** Takes a heap snapshot through the inspector at `host:port` and returns its text. */
async function takeSnapshot(address: string): Promise<string> {
  const targets = await (await fetch(`http://${address}/json/list`)).json();
  const socket = new WebSocket(targets[0].webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = reject;
  });
  const chunks: string[] = [];
  let nextId = 1;
  const waiting = new Map<number, () => void>();
  socket.onmessage = (message) => {
    const data = JSON.parse(message.data);
    if (data.method === "HeapProfiler.addHeapSnapshotChunk") chunks.push(data.params.chunk);
    else if (data.id !== undefined) waiting.get(data.id)?.();
  };
  const call = (method: string, params: object = {}) =>
    new Promise<void>((resolve) => {
      const id = nextId++;
      waiting.set(id, resolve);
      socket.send(JSON.stringify({ id, method, params }));
    });
  await call("HeapProfiler.enable");
  await call("HeapProfiler.collectGarbage");
  await call("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
  socket.close();
  return chunks.join("");
}

async function main(args: string[]): Promise<void> {
  const [command, ...rest] = args;
  const flag = (name: string) => {
    const at = rest.indexOf(name);
    return at < 0 ? undefined : rest[at + 1];
  };
  if (command === "take") {
    const text = await takeSnapshot(flag("--inspect") ?? "127.0.0.1:9229");
    const raw = flag("--raw");
    if (raw !== undefined) await Deno.writeTextFile(raw, text);
    const summary = summarise(JSON.parse(text), rest.includes("--by-holder"));
    await Deno.writeTextFile(flag("--out") ?? "heap.json", JSON.stringify(summary));
    const total = Object.values(summary).reduce((sum, t) => sum + t.bytes, 0);
    // deno-lint-ignore no-console
    console.log(`${(total / 1e6).toFixed(2)} MB in the snapshot`);
  } else if (command === "diff") {
    const [beforePath, afterPath] = rest;
    const per = Number(flag("--per") ?? "1");
    const min = Number(flag("--min") ?? "2");
    const before: HeapSummary = JSON.parse(await Deno.readTextFile(beforePath!));
    const after: HeapSummary = JSON.parse(await Deno.readTextFile(afterPath!));
    const rows = Object.entries(after).map(([kind, t]) => {
      const b = before[kind] ?? { count: 0, bytes: 0 };
      return { kind, count: (t.count - b.count) / per, bytes: (t.bytes - b.bytes) / per };
    }).filter((row) => Math.abs(row.bytes) >= min).sort((x, y) => y.bytes - x.bytes);
    let total = 0;
    for (const { kind, count, bytes } of rows) {
      total += bytes;
      // deno-lint-ignore no-console
      console.log(`${bytes.toFixed(1).padStart(9)} B ${count.toFixed(2).padStart(7)}  ${kind}`);
    }
    const all = Object.keys({ ...before, ...after }).reduce(
      (sum, kind) => sum + (after[kind]?.bytes ?? 0) - (before[kind]?.bytes ?? 0),
      0,
    ) / per;
    // deno-lint-ignore no-console
    console.log(`${total.toFixed(1)} B listed, ${all.toFixed(1)} B in all, per ${per}`);
  } else {
    // deno-lint-ignore no-console
    console.error(
      "usage: heap_diff.ts take [--inspect HOST:PORT] [--out FILE] [--raw FILE] [--by-holder]\n" +
        "       heap_diff.ts diff BEFORE AFTER [--per N] [--min BYTES]",
    );
    Deno.exit(2);
  }
}

if (import.meta.main) await main(Deno.args);
