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
  assert.deepEqual(await run("-V"), { code: 0, out: `chat ${VERSION}`, err: "" });
  assert.deepEqual(await run("serve", "--port", "1", "-h"), { code: 0, out: SERVE_HELP, err: "" });
});

Deno.test("main reports usage mistakes on stderr with exit code 2", async () => {
  assert.deepEqual(await run("--version", "x"), {
    code: 2,
    out: "",
    err: 'Unexpected extra argument: "x"\nUsage: chat <command> [options]\n' +
      "Run 'chat help' for details.",
  });
  assert.deepEqual(await run("serve", "--max-clients", "0"), {
    code: 2,
    out: "",
    err: 'The --max-clients value must be a whole number of 1 or more: "0"\n' +
      "Usage: chat serve [options]\nRun 'chat help serve' for details.",
  });
});

Deno.test("main does not treat -h after -- as a request for help", async () => {
  const result = await run("join", "--", "-h");
  assert.equal(result.code, 2);
  assert.equal(result.out, "");
  assert.match(result.err, /^The address must be HOST or HOST:PORT.*: "-h"\n/);
});
