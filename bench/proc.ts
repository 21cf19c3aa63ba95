/**
 * Reading a process's CPU time and memory from Linux's `/proc`, for the benchmark driver.
 *
 * @module
 */

/** One look at a process. */
export interface ProcSample {
  /** When it was taken, in ms on `performance.now()`'s clock. */
  readonly at: number;
  /** User plus system CPU time, in clock ticks (see {@linkcode clockTicksPerSecond}). */
  readonly cpuTicks: number;
  /** Resident set size, in KiB. */
  readonly rssKb: number;
  /** Peak resident set size so far (VmHWM), in KiB. */
  readonly hwmKb: number;
  /** Threads. */
  readonly threads: number;
}

/**
 * Reads the state and CPU time (utime + stime, in clock ticks) from the text of
 * `/proc/PID/stat`. The command name may hold spaces and parentheses, so fields are counted
 * from the last `)`.
 *
 * @param text the file's contents
 * @returns the one-letter state and the CPU ticks
 * @throws {SyntaxError} if the text does not look like a stat line
 * @example Read a stat line
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseStat } from "./proc.ts";
 * const line = "42 (deno (main)) S 1 42 42 0 -1 4194560 100 0 0 0 250 30 0 0 20 0 9 0";
 * const stat = parseStat(line);
 * assert.ok(stat.state === "S" && stat.cpuTicks === 280);
 * ```
 */
export function parseStat(text: string): { state: string; cpuTicks: number } {
  const close = text.lastIndexOf(")");
  const fields = close < 0 ? [] : text.slice(close + 2).trim().split(" ");
  // After the name: state(0) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
  // utime(11) stime(12).
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (fields.length < 13 || !Number.isFinite(utime) || !Number.isFinite(stime)) {
    throw new SyntaxError(`Not a /proc stat line: "${text.slice(0, 80)}"`);
  }
  return { state: fields[0]!, cpuTicks: utime + stime };
}

/**
 * Reads one `Key: value kB` (or plain number) field from the text of `/proc/PID/status` or
 * `/proc/meminfo`.
 *
 * @param text the file's contents
 * @param key the field name, such as `VmRSS`
 * @returns the number, or 0 if the field is absent
 * @example Read the resident set size
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseStatusField } from "./proc.ts";
 * assert.ok(parseStatusField("Name:\tdeno\nVmRSS:\t  51234 kB\n", "VmRSS") === 51234);
 * ```
 */
export function parseStatusField(text: string, key: string): number {
  let start = 0;
  if (!text.startsWith(`${key}:`)) {
    const at = text.indexOf(`\n${key}:`);
    if (at < 0) return 0;
    start = at + 1;
  }
  const lineEnd = text.indexOf("\n", start);
  const line = text.slice(start + key.length + 1, lineEnd < 0 ? undefined : lineEnd);
  const value = Number.parseInt(line.trim(), 10);
  return Number.isFinite(value) ? value : 0;
}

/**
 * Takes one sample of a process: its CPU time and memory.
 *
 * @param pid the process id
 * @returns the sample, or null if the process is gone or a zombie
 */
export function sampleProcess(pid: number): ProcSample | null {
  try {
    const at = performance.now();
    const stat = parseStat(Deno.readTextFileSync(`/proc/${pid}/stat`));
    if (stat.state === "Z" || stat.state === "X") return null;
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    return {
      at,
      cpuTicks: stat.cpuTicks,
      rssKb: parseStatusField(status, "VmRSS"),
      hwmKb: parseStatusField(status, "VmHWM"),
      threads: parseStatusField(status, "Threads"),
    };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/**
 * The kernel's slab memory in KiB (from `/proc/meminfo`), where socket buffers and other
 * kernel objects live; null if it cannot be read.
 *
 * @returns the Slab figure in KiB, or null
 */
export function readSlabKb(): number | null {
  try {
    const value = parseStatusField(Deno.readTextFileSync("/proc/meminfo"), "Slab");
    return value > 0 ? value : null;
  } catch {
    return null;
  }
}

/**
 * The kernel's clock ticks per second (`getconf CLK_TCK`), the unit of the CPU times in
 * `/proc/PID/stat`; 100 (Linux's usual value) if `getconf` cannot be run.
 *
 * @returns ticks per second
 */
export async function clockTicksPerSecond(): Promise<number> {
  try {
    const { success, stdout } = await new Deno.Command("getconf", {
      args: ["CLK_TCK"],
      stdout: "piped",
      stderr: "null",
    }).output();
    const ticks = Number(new TextDecoder().decode(stdout).trim());
    return success && Number.isSafeInteger(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
}
