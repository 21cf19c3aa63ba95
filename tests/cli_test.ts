/**
 * End-to-end tests of the `chat` command line: `main.ts` runs as a real process.
 */

import assert from "node:assert/strict";
import config from "../deno.json" with { type: "json" };
import { type ChatRun, runChat } from "./support/net.ts";

/** Runs `main.ts ...args` as a process. */
const chat = (...args: string[]): Promise<ChatRun> => runChat(args);

function assertUsageError(
  run: ChatRun,
  sentence: RegExp,
  usage: string,
  helpCommand: string,
): void {
  assert.equal(run.code, 2, run.stderr);
  assert.equal(run.stdout, "");
  const lines = run.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 3, run.stderr);
  const [first, second, third] = lines;
  assert.match(first ?? "", sentence);
  assert.match(first ?? "", /^[A-Z][^\n]*[^.]$/, "one sentence, capital first, no final period");
  assert.equal(second, usage);
  assert.equal(third, `Run '${helpCommand}' for details.`);
}

Deno.test("chat --help lists the commands and exits 0", async () => {
  for (const flag of ["--help", "-h", "help"]) {
    const run = await chat(flag);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, "");
    assert.match(run.stdout, /^Usage: chat <command> \[options\]$/m);
    for (const word of ["serve", "join", "help", "--version"]) {
      assert.ok(run.stdout.includes(word), `${flag}: ${word}`);
    }
  }
});

Deno.test("chat help serve lists every server flag with its default", async () => {
  const run = await chat("help", "serve");
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stderr, "");
  assert.match(run.stdout, /^Usage: chat serve \[options\]$/m);
  for (
    const flag of [
      "--host",
      "--port",
      "--history",
      "--motd",
      "--server-name",
      "--log",
      "--quiet",
      "--log-messages",
      "--max-message-bytes",
      "--max-clients",
      "--max-per-ip",
      "--handshake-timeout",
      "--frame-timeout",
      "--ping-interval",
      "--idle-timeout",
      "--rate-burst",
      "--rate-per-second",
      "--send-queue-bytes",
      "--write-timeout",
    ]
  ) {
    assert.match(run.stdout, new RegExp(`^  (-\\w, )?${flag} `, "m"), flag);
  }
  assert.match(run.stdout, /--port PORT .*\(default: 5050\)/);
  assert.equal((await chat("serve", "--help")).stdout, run.stdout);
});

Deno.test("chat help join lists every client flag with its default", async () => {
  const run = await chat("help", "join");
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stderr, "");
  assert.match(run.stdout, /^Usage: chat join \[HOST\[:PORT\]\] \[options\]$/m);
  for (const flag of ["--port", "--name", "--json", "--no-color", "--no-reconnect"]) {
    assert.match(run.stdout, new RegExp(`^  (-\\w, )?${flag}\\b`, "m"), flag);
  }
  assert.equal((await chat("join", "-h")).stdout, run.stdout);
});

Deno.test("chat --version prints the version from deno.json", async () => {
  for (const flag of ["--version", "-V"]) {
    const run = await chat(flag);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `chat ${config.version}\n`);
    assert.equal(run.stderr, "");
  }
});

Deno.test("chat with an unknown command exits 2 with the usage of chat", async () => {
  assertUsageError(
    await chat("srv"),
    /^Unknown command: "srv"$/,
    "Usage: chat <command> [options]",
    "chat help",
  );
  assertUsageError(
    await chat(),
    /^A command is missing/,
    "Usage: chat <command> [options]",
    "chat help",
  );
});

Deno.test("chat with an unknown flag exits 2 with the usage of the command", async () => {
  assertUsageError(
    await chat("--colour"),
    /^Unknown option: "--colour"$/,
    "Usage: chat <command> [options]",
    "chat help",
  );
  assertUsageError(
    await chat("serve", "--colour"),
    /^Unknown option: "--colour"$/,
    "Usage: chat serve [options]",
    "chat help serve",
  );
  assertUsageError(
    await chat("join", "-x"),
    /^Unknown option: "-x"$/,
    "Usage: chat join [HOST[:PORT]] [options]",
    "chat help join",
  );
});

Deno.test("chat serve with a bad or out-of-range port exits 2", async () => {
  assertUsageError(
    await chat("serve", "--port", "abc"),
    /^The --port value must be a whole number from 0 to 65535: "abc"$/,
    "Usage: chat serve [options]",
    "chat help serve",
  );
  assertUsageError(
    await chat("serve", "--port", "70000"),
    /^The --port value must be a whole number from 0 to 65535: "70000"$/,
    "Usage: chat serve [options]",
    "chat help serve",
  );
  assertUsageError(
    await chat("serve", "--port"),
    /^The --port option needs a value$/,
    "Usage: chat serve [options]",
    "chat help serve",
  );
});

Deno.test("chat join with two addresses exits 2", async () => {
  assertUsageError(
    await chat("join", "a", "b"),
    /^Unexpected extra argument: "b"$/,
    "Usage: chat join [HOST[:PORT]] [options]",
    "chat help join",
  );
});

Deno.test("chat help for an unknown command exits 2", async () => {
  assertUsageError(
    await chat("help", "srv"),
    /"srv"$/,
    "Usage: chat help [COMMAND]",
    "chat help",
  );
});
