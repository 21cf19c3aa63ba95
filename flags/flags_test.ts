import assert from "node:assert/strict";
import { closest, parseFlags } from "./flags.ts";
import { UsageError } from "./usage_error.ts";

const FLAGS = {
  port: { type: "string", short: "p" },
  motd: { type: "string" },
  quiet: { type: "boolean" },
} as const;

function mistake(args: string[], maxPositionals = 0): string {
  try {
    parseFlags(args, FLAGS, maxPositionals);
  } catch (error) {
    assert.ok(error instanceof UsageError, `not a UsageError: ${error}`);
    return error.message;
  }
  assert.fail(`No error for ${JSON.stringify(args)}`);
}

Deno.test("parseFlags reads long, short, inline and attached values", () => {
  assert.deepEqual({ ...parseFlags(["--port", "1", "--quiet"], FLAGS, 0).values }, {
    port: "1",
    quiet: true,
  });
  assert.equal(parseFlags(["-p7"], FLAGS, 0).values.port, "7");
  assert.equal(parseFlags(["--port=8"], FLAGS, 0).values.port, "8");
  assert.equal(parseFlags(["--motd=-hi-"], FLAGS, 0).values.motd, "-hi-");
  assert.equal(parseFlags(["-p", "1", "-p", "2"], FLAGS, 0).values.port, "2");
});

Deno.test("parseFlags returns positionals up to the limit, and everything after --", () => {
  const parsed = parseFlags(["host", "--quiet"], FLAGS, 1);
  assert.deepEqual(parsed.positionals, ["host"]);
  assert.deepEqual(parseFlags(["--", "--quiet"], FLAGS, 1).positionals, ["--quiet"]);
});

Deno.test("parseFlags passes a negative number to a value flag", () => {
  assert.equal(parseFlags(["--port", "-5"], FLAGS, 0).values.port, "-5");
  assert.equal(parseFlags(["-p", "-.5"], FLAGS, 0).values.port, "-.5");
  assert.deepEqual(parseFlags(["--quiet", "--", "-5"], FLAGS, 1).positionals, ["-5"]);
});

Deno.test("parseFlags names each kind of mistake in one sentence", () => {
  assert.equal(mistake(["--colour"]), 'Unknown option: "--colour"');
  assert.equal(mistake(["-x"]), 'Unknown option: "-x"');
  assert.equal(mistake(["--port"]), "The --port option needs a value");
  assert.equal(mistake(["-p"]), "The --port option needs a value");
  assert.equal(mistake(["--quiet=yes"]), 'The --quiet option takes no value, but got: "yes"');
  assert.equal(
    mistake(["--motd", "--quiet"]),
    'The --motd option needs a value, not the option "--quiet" ' +
      '(write "--motd=--quiet" to mean it as the value)',
  );
  assert.equal(mistake(["extra"]), 'This command takes no arguments, but got: "extra"');
  assert.equal(mistake(["a", "b"], 1), 'Unexpected extra argument: "b"');
});

Deno.test("parseFlags reports the first mistake in argument order", () => {
  assert.equal(mistake(["--nope", "extra"]), 'Unknown option: "--nope"');
  assert.equal(mistake(["extra", "--nope"]), 'This command takes no arguments, but got: "extra"');
});

Deno.test("parseFlags does not take inherited names for flags", () => {
  assert.equal(mistake(["--toString"]), 'Unknown option: "--toString"');
  assert.equal(mistake(["--constructor", "x"]), 'Unknown option: "--constructor"');
});

Deno.test("parseFlags suggests the nearest flag for a typo", () => {
  assert.equal(mistake(["--prot", "1"]), 'Unknown option: "--prot" (did you mean "--port"?)');
  assert.equal(mistake(["--quite"]), 'Unknown option: "--quite" (did you mean "--quiet"?)');
  assert.equal(mistake(["--mtod=x"]), 'Unknown option: "--mtod" (did you mean "--motd"?)');
  assert.equal(mistake(["--hepl"]), 'Unknown option: "--hepl" (did you mean "--help"?)');
  assert.equal(mistake(["--colour"]), 'Unknown option: "--colour"');
  assert.equal(mistake(["-x"]), 'Unknown option: "-x"');
});

Deno.test("closest allows one edit in short words and two in long ones", () => {
  assert.equal(closest("nmae", ["name", "json"]), "name");
  assert.equal(closest("nmea", ["name"]), undefined);
  assert.equal(closest("no-reconect", ["no-reconnect", "no-color"]), "no-reconnect");
  assert.equal(closest("max-cleints", ["max-clients", "max-per-ip"]), "max-clients");
  assert.equal(closest("", ["a"]), "a");
  assert.equal(closest("abc", []), undefined);
});
