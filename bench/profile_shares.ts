/**
 * Reads a V8 CPU profile (`deno run --cpu-prof`) and says where the time went: the self time of
 * every sampled function, grouped into the parts of a delivery (parsing, validation, encoding,
 * fan-out bookkeeping, the write path, Deno's runtime, GC), as shares of the busy time (idle
 * samples left out). Shares stay meaningful on a loaded machine, where absolute times do not.
 *
 * ```sh
 * deno run --allow-read bench/profile_shares.ts PROFILE.cpuprofile [--top 25]
 * ```
 *
 * @module
 */

import { parseFlags } from "../flags/flags.ts";
import { parseNumber } from "../flags/values.ts";

/** The parts of a profile that matter here. */
export interface CpuProfile {
  readonly nodes: readonly {
    readonly id: number;
    readonly callFrame: {
      readonly functionName: string;
      readonly url: string;
      readonly lineNumber: number;
    };
  }[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** A rule that puts a function into a part: the first rule whose patterns both match wins. */
export interface ShareRule {
  readonly part: string;
  readonly url: RegExp;
  readonly name?: RegExp;
}

/**
 * Where the self time of a function goes. V8 does not show native code as frames: a builtin
 * (`JSON.parse`, `TextEncoder.encode`) counts as self time of the JS function that called it,
 * and the native side of a synchronous op as self time of the op's JS wrapper; the native side
 * of asynchronous ops and the event loop are `(program)`.
 */
export const SHARE_RULES: readonly ShareRule[] = Object.freeze([
  { part: "GC", url: /^$/, name: /^\(garbage collector\)$/ },
  { part: "native: event loop, async ops, syscalls", url: /^$/, name: /^\(program\)$/ },
  { part: "idle", url: /^$/, name: /^\(idle\)$/ },
  { part: "the write call (op_write)", url: /^$/, name: /^op_write/ },
  { part: "the read call (op_read)", url: /^$/, name: /^op_read/ },
  { part: "CPU clock for pacing (getrusage)", url: /^$/, name: /^op_runtime_cpu_usage$/ },
  { part: "text decoding and encoding", url: /^$/, name: /^op_encoding_/ },
  {
    part: "parsing (framing, JSON)",
    url: /protocol\/(frame64_parser|line_parser|event_parser|detect)|inbound\.ts/,
  },
  { part: "validation", url: /protocol\/(events|names|sanitize|rooms)|text_input\.ts/ },
  { part: "encoding", url: /outgoing\.ts|protocol\/(frame64|utf8|raw_render|text_render)\.ts/ },
  { part: "fan-out bookkeeping", url: /server\/(fanout|delivery)\.ts/ },
  { part: "write path (outbox, connection)", url: /server\/(outbox|connection|slab_pool)\.ts/ },
  // Before the project's own parts: Deno's internal URLs (`ext:core/...`) have folders too.
  { part: "Deno runtime JS (ops glue, streams, timers)", url: /^ext:|^node:/ },
  { part: "session and chat logic", url: /\/(server|core|store)\// },
  { part: "bench relay", url: /\/bench\// },
]);

/** The self time of one part or function. */
export interface Share {
  readonly what: string;
  readonly ms: number;
  /** Share of the busy (non-idle) time, 0 to 1. */
  readonly share: number;
}

/** What a profile says. */
export interface ProfileShares {
  /** Sampled time in all, and the time not idle, ms. */
  readonly totalMs: number;
  readonly busyMs: number;
  /** Self time per part, largest first (idle left out). */
  readonly parts: Share[];
  /** Self time per function (`name url:line`), largest first. */
  readonly functions: Share[];
}

function _partOf(url: string, name: string, rules: readonly ShareRule[]): string {
  for (const rule of rules) {
    if (rule.url.test(url) && (rule.name === undefined || rule.name.test(name))) return rule.part;
  }
  return url === "" ? "native (other)" : "other JS";
}

/**
 * Adds up a profile's self time per part and per function.
 *
 * @param profile the parsed `.cpuprofile`
 * @param rules how functions are grouped; {@linkcode SHARE_RULES} by default
 * @returns the shares
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { profileShares } from "./profile_shares.ts";
 * const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0 });
 * const shares = profileShares({
 *   nodes: [
 *     { id: 1, callFrame: frame("(garbage collector)", "") },
 *     { id: 2, callFrame: frame("push", "file:///x/protocol/frame64_parser.ts") },
 *     { id: 3, callFrame: frame("(idle)", "") },
 *   ],
 *   // A sample's time is the delta to the next one: 1 ms of GC, 3 of parsing, 5 idle.
 *   samples: [1, 2, 2, 2, 3, 3],
 *   timeDeltas: [0, 1000, 1000, 1000, 1000, 5000],
 * });
 * assert.ok(shares.busyMs === 4 && shares.parts[0]!.what === "parsing (framing, JSON)");
 * assert.ok(shares.parts[0]!.share === 0.75);
 * ```
 */
export function profileShares(
  profile: CpuProfile,
  rules: readonly ShareRule[] = SHARE_RULES,
): ProfileShares {
  const byId = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const selfUs = new Map<number, number>();
  const count = Math.min(profile.samples.length, profile.timeDeltas.length);
  // A sample's time is the delta to the next sample, as Chrome's tools count it.
  for (let i = 0; i < count; i++) {
    const id = profile.samples[i]!;
    const delta = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, delta));
  }
  const parts = new Map<string, number>();
  const functions = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id);
    if (frame === undefined) continue;
    totalUs += us;
    const part = _partOf(frame.url, frame.functionName, rules);
    if (part === "idle") {
      idleUs += us;
      continue;
    }
    parts.set(part, (parts.get(part) ?? 0) + us);
    const where = frame.url === ""
      ? ""
      : ` ${
        frame.url.replace(/^file:\/\/.*?\/(?=(server|protocol|bench|core|store|flags)\/)/, "")
      }:${frame.lineNumber + 1}`;
    const key = `${frame.functionName || "(anonymous)"}${where}`;
    functions.set(key, (functions.get(key) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;
  const sorted = (map: Map<string, number>): Share[] =>
    [...map].map(([what, us]) => ({ what, ms: us / 1000, share: busyUs > 0 ? us / busyUs : 0 }))
      .sort((a, b) => b.ms - a.ms);
  return {
    totalMs: totalUs / 1000,
    busyMs: busyUs / 1000,
    parts: sorted(parts),
    functions: sorted(functions),
  };
}

function _table(shares: readonly Share[]): string {
  const width = Math.max(4, ...shares.map((s) => s.what.length));
  return shares.map((s) =>
    `${s.what.padEnd(width)}  ${(100 * s.share).toFixed(1).padStart(5)} %  ${
      s.ms.toFixed(0).padStart(7)
    } ms`
  ).join("\n");
}

async function _main(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { top: { type: "string" } } as const, 1);
  const top = values.top === undefined
    ? 25
    : parseNumber("--top", values.top, { integer: true, min: 1, max: 1000 });
  const profile = JSON.parse(await Deno.readTextFile(positionals[0]!)) as CpuProfile;
  const shares = profileShares(profile);
  // deno-lint-ignore no-console
  console.log(
    `${positionals[0]}: ${shares.busyMs.toFixed(0)} ms busy of ${
      shares.totalMs.toFixed(0)
    } ms sampled\n\nBy part (self time, share of busy time):\n${
      _table(shares.parts)
    }\n\nTop ${top} functions:\n${_table(shares.functions.slice(0, top))}`,
  );
  return 0;
}

if (import.meta.main) {
  Deno.exit(await _main(Deno.args));
}
