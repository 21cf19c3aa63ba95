import assert from "node:assert/strict";
import { CHAT_HELP, type CliOutput, main } from "./main.ts";
import { VERSION } from "./flags/version.ts";
import { SERVE_HELP } from "./server/config.ts";

/** Runs main in-process and collects what it prints. */
async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const output: CliOutput = { out: (text) => out += text, err: (text) => err += text };
  const code = await main(args, output, {});
  return { code, out, err };
}

Deno.test("main prints help and version to stdout", async () => {
  assert.deepEqual(await run("--help"), { code: 0, out: CHAT_HELP, err: "" });
  assert.deepEqual(await run("help"), { code: 0, out: CHAT_HELP, err: "" });
  const version = `chat ${VERSION}\ndeno ${Deno.version.deno}\ntarget ${Deno.build.target}`;
  assert.deepEqual(await run("-V"), { code: 0, out: version, err: "" });
  assert.deepEqual(await run("join", "--version"), { code: 0, out: version, err: "" });
  assert.deepEqual(await run("serve", "-V"), { code: 0, out: version, err: "" });
  assert.deepEqual(await run("serve", "--port", "1", "-h"), { code: 0, out: SERVE_HELP, err: "" });
});

Deno.test("main reports usage mistakes on stderr with exit code 2", async () => {
  assert.deepEqual(await run("--version", "x"), {
    code: 2,
    out: "",
    err: 'Unexpected extra argument: "x"\nUsage: chat <command> [options]\n' +
      "Run 'deno task chat help' for details.",
  });
  assert.deepEqual(await run("serve", "--max-clients", "0"), {
    code: 2,
    out: "",
    err: 'The --max-clients value must be a whole number of 1 or more: "0"\n' +
      "Usage: chat serve [options]\nRun 'deno task chat help serve' for details.",
  });
});

Deno.test("main does not treat -h after -- as a request for help", async () => {
  const result = await run("join", "--", "-h");
  assert.equal(result.code, 2);
  assert.equal(result.out, "");
  assert.match(result.err, /^The address must be HOST or HOST:PORT.*: "-h"\n/);
});

Deno.test("main writes the help command of a usage mistake as the reader can run it", async () => {
  let err = "";
  const output: CliOutput = { out: () => {}, err: (text) => err += text };
  const code = await main(["join", "--nmae", "x"], output, {}, { kind: "binary", name: "chat" });
  assert.equal(code, 2);
  assert.equal(
    err,
    'Unknown option: "--nmae" (did you mean "--name"?)\nUsage: chat join [HOST[:PORT]] [options]\n' +
      "Run 'chat help join' for details.",
  );
});

Deno.test("main suggests the command or option nearest to a typo", async () => {
  assert.match((await run("srve")).err, /^Unknown command: "srve" \(did you mean "serve"\?\)\n/);
  assert.match((await run("jion")).err, /\(did you mean "join"\?\)/);
  assert.match((await run("--verison")).err, /\(did you mean "--version"\?\)/);
  assert.equal((await run("join", "--nmae", "x")).code, 2);
  assert.match((await run("join", "--nmae", "x")).err, /\(did you mean "--name"\?\)/);
  assert.match((await run("serve", "--max-client", "5")).err, /did you mean "--max-clients"/);
  // Nothing is suggested when nothing is near.
  assert.match((await run("bogus")).err, /^Unknown command: "bogus"\n/);
  assert.match((await run("join", "--zzzzzz")).err, /^Unknown option: "--zzzzzz"\n/);
});

Deno.test("main prints completions for bash, zsh and fish, and refuses other shells", async () => {
  for (const shell of ["bash", "zsh", "fish"]) {
    const result = await run("completions", shell);
    assert.equal(result.code, 0, result.err);
    assert.ok(result.out.includes("max-clients"), shell);
    assert.ok(result.out.includes("no-reconnect"), shell);
  }
  const missing = await run("completions");
  assert.equal(missing.code, 2);
  assert.match(
    missing.err,
    /^A shell is missing: give "bash", "zsh", "fish"\nUsage: chat completions/,
  );
  const other = await run("completions", "tcsh");
  assert.equal(other.code, 2);
  assert.match(other.err, /: "tcsh"\n/);
  assert.equal((await run("completions", "bash", "extra")).code, 2);
  assert.equal((await run("help", "completions")).code, 0);
});
