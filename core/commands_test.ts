import assert from "node:assert/strict";
import {
  COMMAND_WORDS,
  type CommandContext,
  commandOfEvent,
  COMMANDS,
  eventOfCommand,
  helpLines,
  type ModRequest,
  type ParsedCommand,
  parseTextInput,
  runCommand,
  type TextCommand,
} from "./commands.ts";

function invalid(line: string): string {
  const command = parseTextInput(line);
  if (command.kind !== "invalid") throw new Error(`Expected ${JSON.stringify(line)} to be invalid`);
  assert.equal(command.error.code, "bad_command");
  return command.error.message;
}

Deno.test("parseTextInput takes plain text as say, unchanged", () => {
  for (
    const text of [
      "hello",
      " hi ",
      "",
      "   ",
      "a\nb",
      "50/50",
      "!disconnect from server",
      "!DISCONNECT",
      "?",
    ]
  ) {
    assert.deepEqual(parseTextInput(text), { kind: "say", text });
  }
});

Deno.test("parseTextInput recognises every command", () => {
  const cases: [string, TextCommand][] = [
    ["/nick al", { kind: "nick", name: "al" }],
    ["/msg bob hi there", { kind: "dm", to: "bob", text: "hi there" }],
    ["/dm bob hi", { kind: "dm", to: "bob", text: "hi" }],
    ["/me waves", { kind: "me", text: "waves" }],
    ["/who", { kind: "who" }],
    ["/help", { kind: "help" }],
    ["/quit", { kind: "quit" }],
  ];
  for (const [line, expected] of cases) assert.deepEqual(parseTextInput(line), expected, line);
});

Deno.test("parseTextInput matches command words without regard to case", () => {
  assert.deepEqual(parseTextInput("/WHO"), { kind: "who" });
  assert.deepEqual(parseTextInput("/Nick Al"), { kind: "nick", name: "Al" });
  assert.deepEqual(parseTextInput("/MSG Bob Hi"), { kind: "dm", to: "Bob", text: "Hi" });
});

Deno.test("parseTextInput tolerates extra spaces, tabs and a trailing CR around arguments", () => {
  assert.deepEqual(parseTextInput("/nick   al  "), { kind: "nick", name: "al" });
  assert.deepEqual(parseTextInput("/nick al\r"), { kind: "nick", name: "al" });
  assert.deepEqual(parseTextInput("/msg\tbob \t hi  there"), {
    kind: "dm",
    to: "bob",
    text: "hi  there",
  });
  assert.deepEqual(parseTextInput("/me  waves at  you"), { kind: "me", text: "waves at  you" });
  assert.deepEqual(parseTextInput("/who\r"), { kind: "who" });
  assert.deepEqual(parseTextInput("/who is here"), { kind: "who" });
  assert.deepEqual(parseTextInput("/quit  bye all"), { kind: "quit" });
  assert.deepEqual(parseTextInput("/help me"), { kind: "help" });
});

Deno.test("parseTextInput keeps the lines of a multi-line private message or action", () => {
  assert.deepEqual(parseTextInput("/msg bob one\ntwo"), {
    kind: "dm",
    to: "bob",
    text: "one\ntwo",
  });
  assert.deepEqual(parseTextInput("/me one\ntwo"), { kind: "me", text: "one\ntwo" });
});

Deno.test("parseTextInput gives the usage of a command missing its arguments", () => {
  assert.equal(invalid("/nick"), "Usage: /nick NEW");
  assert.equal(invalid("/nick   "), "Usage: /nick NEW");
  assert.equal(invalid("/msg"), "Usage: /msg NAME TEXT");
  assert.equal(invalid("/msg bob"), "Usage: /msg NAME TEXT");
  assert.equal(invalid("/msg bob   "), "Usage: /msg NAME TEXT");
  assert.equal(invalid("/DM bob"), "Usage: /dm NAME TEXT");
  assert.equal(invalid("/me"), "Usage: /me TEXT");
  assert.equal(invalid("/me \t "), "Usage: /me TEXT");
});

Deno.test("parseTextInput refuses an unknown command and points to /help", () => {
  assert.equal(invalid("/foo"), 'Unknown command "/foo": try /help');
  assert.equal(invalid("/foo bar baz"), 'Unknown command "/foo": try /help');
  assert.equal(invalid("/usr/bin/env"), 'Unknown command "/usr/bin/env": try /help');
  assert.equal(invalid("/msgbob hi"), 'Unknown command "/msgbob": try /help');
  const message = invalid("/\x1b[2J" + "x".repeat(100));
  assert.ok(!message.includes("\x1b") && message.length < 80, message);
});

Deno.test("parseTextInput sends //text as /text and a lone slash as it is", () => {
  assert.deepEqual(parseTextInput("//nick al"), { kind: "say", text: "/nick al" });
  assert.deepEqual(parseTextInput("//"), { kind: "say", text: "/" });
  assert.deepEqual(parseTextInput("/"), { kind: "say", text: "/" });
  assert.deepEqual(parseTextInput("/ shrug"), { kind: "say", text: "/ shrug" });
});

Deno.test("parseTextInput takes the classic disconnect message as quit, exactly", () => {
  assert.deepEqual(parseTextInput("!DISCONNECT FROM SERVER"), { kind: "quit" });
  assert.deepEqual(parseTextInput("!DISCONNECT FROM SERVER\r"), { kind: "quit" });
  assert.deepEqual(parseTextInput("!DISCONNECT FROM SERVER \t\r\n"), { kind: "quit" });
  assert.equal(parseTextInput(" !DISCONNECT FROM SERVER").kind, "say");
  assert.equal(parseTextInput("!DISCONNECT FROM SERVER now").kind, "say");
  assert.equal(parseTextInput("!DISCONNECT FROM SERVERS").kind, "say");
});

Deno.test("helpLines lists every slash word parseTextInput knows", () => {
  const help = helpLines(true).join("\n");
  for (const word of COMMAND_WORDS) {
    if (word !== "/dm") assert.ok(help.includes(`  ${word}`), `${word} is listed`);
    // Commands of one argument refuse a second word; the others need it.
    const parsed = [" #x y", " x"].map((rest) => parseTextInput(word + rest).kind);
    assert.ok(parsed.some((kind) => kind !== "invalid"), word);
  }
  for (
    const word of ["/nick", "/msg", "/me", "/who", "/help", "/quit", "/join", "/part", "/rooms"]
  ) {
    assert.ok(COMMAND_WORDS.includes(word), word);
  }
});

Deno.test("parseTextInput reads the room commands", () => {
  assert.deepEqual(parseTextInput("/join #rust"), { kind: "join", room: "#rust" });
  assert.deepEqual(parseTextInput("/JOIN  #Rust  later"), { kind: "join", room: "#Rust" });
  assert.deepEqual(parseTextInput("/part"), { kind: "part" });
  assert.deepEqual(parseTextInput("/rooms"), { kind: "rooms" });
  assert.equal(invalid("/join"), "Usage: /join #ROOM");
});

/** Records what each command asks of its member. */
class RecordingContext implements CommandContext {
  readonly calls: unknown[][] = [];
  say(text: string, kind: "say" | "me"): void {
    this.calls.push(["say", text, kind]);
  }
  directMessage(to: string, text: string): void {
    this.calls.push(["dm", to, text]);
  }
  rename(name: string): void {
    this.calls.push(["rename", name]);
  }
  who(): void {
    this.calls.push(["who"]);
  }
  rooms(): void {
    this.calls.push(["rooms"]);
  }
  whois(name: string): void {
    this.calls.push(["whois", name]);
  }
  move(room: string): void {
    this.calls.push(["move", room]);
  }
  info(lines: readonly string[]): void {
    this.calls.push(["info", ...lines]);
  }
  quit(): void {
    this.calls.push(["quit"]);
  }
  isOp = false;
  moderate(request: ModRequest): void {
    this.calls.push(["moderate", request]);
  }
}

Deno.test("runCommand dispatches every command to its action", () => {
  const context = new RecordingContext();
  const commands: ParsedCommand[] = [
    { kind: "say", text: "hi" },
    { kind: "me", text: "waves" },
    { kind: "dm", to: "bob", text: "psst" },
    { kind: "nick", name: "robert" },
    { kind: "who" },
    { kind: "join", room: "#rust" },
    { kind: "part" },
    { kind: "rooms" },
    { kind: "whois", name: "bob" },
    { kind: "quit" },
    { kind: "help" },
  ];
  for (const command of commands) runCommand(context, command);
  assert.deepEqual(context.calls, [
    ["say", "hi", "say"],
    ["say", "waves", "me"],
    ["dm", "bob", "psst"],
    ["rename", "robert"],
    ["who"],
    ["move", "#rust"],
    ["move", "#main"],
    ["rooms"],
    ["whois", "bob"],
    ["quit"],
    ["info", ...helpLines()],
  ]);
});

Deno.test("a command's JSON event reads back as the same command", () => {
  const commands: ParsedCommand[] = [
    { kind: "say", text: "hi" },
    { kind: "me", text: "waves" },
    { kind: "dm", to: "bob", text: "psst" },
    { kind: "nick", name: "robert" },
    { kind: "who" },
    { kind: "join", room: "#rust" },
    { kind: "rooms" },
    { kind: "quit" },
  ];
  for (const command of commands) {
    const event = eventOfCommand(command);
    assert.ok(event !== null, command.kind);
    assert.deepEqual(commandOfEvent(event), command);
  }
  assert.deepEqual(commandOfEvent(eventOfCommand({ kind: "part" })!), {
    kind: "join",
    room: "#main",
  });
  assert.equal(eventOfCommand({ kind: "help" }), null);
});

Deno.test("flood control counts say, me, dm, nick and moves; the moderation commands are op-only", () => {
  const counted = Object.entries(COMMANDS).filter(([, c]) => c.counted).map(([name]) => name);
  assert.deepEqual(counted.sort(), ["dm", "join", "me", "nick", "part", "say"]);
  const ops = Object.entries(COMMANDS).filter(([, c]) => c.opOnly).map(([name]) => name);
  assert.deepEqual(ops.sort(), ["ban", "bans", "deop", "kick", "mute", "op", "unban", "unmute"]);
});

Deno.test("helpLines shows the operator commands only to operators", () => {
  const everyone = helpLines().join("\n");
  const op = helpLines(true).join("\n");
  for (const word of ["/kick", "/ban", "/unban", "/bans", "/mute", "/unmute", "/op", "/deop"]) {
    assert.ok(!everyone.includes(`  ${word} `), word);
    assert.ok(op.includes(`  ${word} `), word);
  }
});

Deno.test("parseTextInput reads the operator commands and their durations", () => {
  assert.deepEqual(parseTextInput("/kick bob stop spamming"), {
    kind: "kick",
    target: "bob",
    reason: "stop spamming",
  });
  assert.deepEqual(parseTextInput("/ban bob 2h flooding #main"), {
    kind: "ban",
    target: "bob",
    duration: "2h",
    reason: "flooding #main",
  });
  assert.deepEqual(parseTextInput("/ban 10.0.0.9 spam"), {
    kind: "ban",
    target: "10.0.0.9",
    reason: "spam",
  });
  // A second word that starts like a number is a duration, checked by the server.
  assert.deepEqual(parseTextInput("/ban bob 99999999d"), {
    kind: "ban",
    target: "bob",
    duration: "99999999d",
  });
  assert.deepEqual(parseTextInput("/mute bob 10m"), {
    kind: "mute",
    target: "bob",
    duration: "10m",
  });
  assert.deepEqual(parseTextInput("/bans"), { kind: "bans" });
  const usage = parseTextInput("/mute bob for a while");
  assert.ok(usage.kind === "invalid" && usage.error.message === "Usage: /mute NAME [DURATION]");
  const kick = parseTextInput("/kick bob spam");
  assert.ok(kick.kind !== "invalid");
  assert.deepEqual(eventOfCommand(kick), {
    type: "mod",
    action: "kick",
    target: "bob",
    reason: "spam",
  });
  assert.deepEqual(
    commandOfEvent({ type: "mod", action: "ban", target: "bob", duration: "1d" }),
    { kind: "ban", target: "bob", duration: "1d" },
  );
});
