/**
 * How chat was started, and so how to write a chat command the reader can run: the compiled
 * executable's own name (`chat join 10.0.0.2`) when chat runs as the one-file binary, the
 * `deno task` form (`deno task join 10.0.0.2`) when it runs from a checkout under deno. Every
 * hint that names a command (the banner's "join with" line, "Start one with ..." errors, the
 * "Run ... for details" line of usage mistakes) is written through here.
 *
 * @module
 */

/** How chat is being run. */
export type Invocation =
  | {
    /** Run by `deno` from a checkout (`deno task serve`, `deno run main.ts serve`). */
    readonly kind: "checkout";
  }
  | {
    /** Run as the executable `deno compile` built. */
    readonly kind: "binary";
    /** The executable's file name without a `.exe`, such as `chat`. */
    readonly name: string;
  };

/**
 * Tells from the path of the running executable whether chat runs under `deno` or as its own
 * compiled executable. A compiled executable is not named `deno`, whatever the user renamed it
 * to; the name is kept so that hints use it.
 *
 * @param execPath the running executable, `Deno.execPath()` by default
 * @returns how chat is being run
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { detectInvocation } from "./invocation.ts";
 * assert.deepEqual(detectInvocation("/usr/bin/deno"), { kind: "checkout" });
 * assert.deepEqual(detectInvocation("C:\\bin\\chat.exe"), { kind: "binary", name: "chat" });
 * ```
 */
export function detectInvocation(execPath: string = _execPath()): Invocation {
  const file = execPath.split(/[\\/]/).at(-1) ?? "";
  const name = file.replace(/\.exe$/i, "");
  if (name === "" || name === "deno") return { kind: "checkout" };
  return { kind: "binary", name };
}

/**
 * Writes a chat command so that the reader can run it as it is printed.
 *
 * @param args the command after `chat`, such as `join 10.0.0.2:6000` or `help serve`
 * @param invocation how chat is being run; detected by default
 * @returns e.g. `chat join 10.0.0.2:6000` for the binary, `deno task join 10.0.0.2:6000` from
 *   a checkout (`serve` and `join` have their own tasks; anything else goes through
 *   `deno task chat`)
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runnable } from "./invocation.ts";
 * assert.ok(runnable("serve", { kind: "checkout" }) === "deno task serve");
 * assert.ok(runnable("help join", { kind: "checkout" }) === "deno task chat help join");
 * assert.ok(runnable("join ::1", { kind: "binary", name: "chat" }) === "chat join ::1");
 * ```
 */
export function runnable(args: string, invocation: Invocation = detectInvocation()): string {
  if (invocation.kind === "binary") return `${invocation.name} ${args}`;
  const [command] = args.split(" ");
  return command === "serve" || command === "join" ? `deno task ${args}` : `deno task chat ${args}`;
}

/** `Deno.execPath()`, or "" where it cannot be read (so hints fall back to the checkout form). */
function _execPath(): string {
  try {
    return Deno.execPath();
  } catch {
    return "";
  }
}
