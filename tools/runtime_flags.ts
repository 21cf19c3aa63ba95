/**
 * The V8 flags chat runs with, in one place: the compiled executable (`tools/compile.ts`), the
 * benchmark's server (`bench/`) and the test that checks the `deno.json` tasks all read them here.
 *
 * @module
 */

/**
 * The V8 flags compiled into the executable, and given by the `chat` and `serve` tasks: a young
 * generation of at most 8 MB per semi-space instead of V8's default here (32 MB, which a join
 * storm fills and V8 then keeps). Scenario (c) of the bench harness, 5000 idle clients, 1 s after
 * the last join: ~24 -> ~16 KB of RSS per connection; scenarios (a) and (b) unchanged within
 * noise. A plain `deno run main.ts serve` does not get them (Deno gives a program no way to set
 * its own V8 flags): pass `--v8-flags=--max-semi-space-size=8` there.
 */
export const V8_FLAGS: readonly string[] = Object.freeze(["--max-semi-space-size=8"]);
