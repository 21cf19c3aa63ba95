/**
 * End-to-end tests of the `chat` command line: `main.ts` runs as a real process.
 */

import assert from "node:assert/strict";
import config from "../deno.json" with { type: "json" };
import { type ChatRun, ROOT, runChat } from "./support/net.ts";
import { tempDir } from "./support/temp.ts";

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
  // Run from a checkout, the help command is written the way a checkout runs it.
  assert.equal(third, `Run 'deno task ${helpCommand}' for details.`);
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

const VERSION_TEXT = `chat ${config.version}\ndeno ${Deno.version.deno}\n` +
  `target ${Deno.build.target}\n`;

Deno.test("chat --version prints the version from deno.json, the Deno version and the target", async () => {
  for (const args of [["--version"], ["-V"], ["join", "--version"], ["serve", "-V"]]) {
    const run = await chat(...args);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, VERSION_TEXT);
    assert.equal(run.stderr, "");
  }
});

/** Runs a `deno task` of the checkout, for at most 30 s. */
async function task(...args: string[]): Promise<ChatRun> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
    signal: AbortSignal.timeout(30_000),
  }).output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}

Deno.test("deno task join --version and deno task serve --version print the version", async () => {
  for (const name of ["join", "serve"]) {
    const run = await task(name, "--version");
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, VERSION_TEXT);
  }
});

Deno.test("deno task join --nmae suggests --name and prints a help command that runs", async () => {
  const run = await task("join", "--nmae", "alice");
  assert.equal(run.code, 2);
  assert.equal(
    run.stderr,
    'Unknown option: "--nmae" (did you mean "--name"?)\n' +
      "Usage: chat join [HOST[:PORT]] [options]\nRun 'deno task chat help join' for details.\n",
  );
  // The command it names works as printed.
  const help = await task("chat", "help", "join");
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /--name/);
});

/** Whether a program can be started (it is installed). */
async function installed(program: string): Promise<boolean> {
  try {
    await new Deno.Command(program, { args: ["--version"], stdout: "null", stderr: "null" })
      .output();
    return true;
  } catch {
    return false;
  }
}

/**
 * Loads `chat completions bash` into a real bash, completes `words` (the last one is the word
 * being typed) and returns what bash would offer.
 */
async function bashComplete(script: string, words: readonly string[]): Promise<string[]> {
  const array = words.map((word) => `'${word}'`).join(" ");
  const program = `${script}
COMP_WORDS=(${array})
COMP_CWORD=${words.length - 1}
_chat
printf '%s\n' "\${COMPREPLY[@]}"`;
  const { code, stdout, stderr } = await new Deno.Command("bash", {
    args: ["--noprofile", "--norc", "-c", program],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).output();
  const text = new TextDecoder();
  assert.equal(code, 0, text.decode(stderr));
  assert.equal(text.decode(stderr), "");
  return text.decode(stdout).split("\n").filter((line) => line !== "");
}

Deno.test("chat completions bash completes commands, flags and arguments in bash", async () => {
  const run = await chat("completions", "bash");
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(await bashComplete(run.stdout, ["chat", "se"]), ["serve"]);
  assert.deepEqual(await bashComplete(run.stdout, ["chat", "serve", "--max-c"]), [
    "--max-clients",
  ]);
  assert.deepEqual(await bashComplete(run.stdout, ["chat", "join", "--no-r"]), [
    "--no-reconnect",
  ]);
  // After a flag that takes a value, no flag is offered as the value.
  assert.deepEqual(await bashComplete(run.stdout, ["chat", "serve", "--port", ""]), []);
  assert.deepEqual(await bashComplete(run.stdout, ["chat", "completions", "z"]), ["zsh"]);
  assert.deepEqual(await bashComplete(run.stdout, ["chat", "help", "jo"]), ["join"]);
  assert.deepEqual(await bashComplete(run.stdout, ["chat", "-"]), [
    "--help",
    "-h",
    "--version",
    "-V",
  ]);
});

for (const shell of ["zsh", "fish"] as const) {
  const available = await installed(shell);
  Deno.test({
    name: `chat completions ${shell} is a script ${shell} accepts and loads`,
    ignore: !available,
    async fn() {
      const run = await chat("completions", shell);
      assert.equal(run.code, 0, run.stderr);
      const dir = tempDir("chat_completions_");
      try {
        const file = `${dir}/chat.${shell}`;
        await Deno.writeTextFile(file, run.stdout);
        // zsh: parse the script, then load it into a completion system and ask which function
        // completes chat. fish: parse it, then load it and list what it offers for `chat serve --`.
        const check = shell === "zsh"
          ? `autoload -Uz compinit && compinit -u -d ${dir}/zcompdump && source ${file} && ` +
            `print -r -- $_comps[chat]`
          : `source ${file}; and complete -C 'chat serve --max-c'`;
        const syntax = await new Deno.Command(shell, { args: ["-n", file], stderr: "piped" })
          .output();
        assert.equal(syntax.code, 0, new TextDecoder().decode(syntax.stderr));
        const loaded = await new Deno.Command(shell, {
          args: shell === "zsh" ? ["-f", "-c", check] : ["--no-config", "-c", check],
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
          env: { HOME: dir, XDG_CONFIG_HOME: dir, XDG_DATA_HOME: dir },
          signal: AbortSignal.timeout(30_000),
        }).output();
        const out = new TextDecoder().decode(loaded.stdout);
        assert.equal(loaded.code, 0, new TextDecoder().decode(loaded.stderr));
        if (shell === "zsh") assert.equal(out.trim(), "_chat");
        else assert.match(out, /^--max-clients\b/m);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

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
