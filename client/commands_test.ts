import assert from "node:assert/strict";
import { COMMAND_WORDS, completeInput, HELP_TEXT, helpText, interpretInput } from "./commands.ts";

Deno.test("interpretInput turns text and commands into events", () => {
  assert.deepEqual(interpretInput("hello", undefined), {
    kind: "send",
    event: { type: "say", text: "hello" },
  });
  assert.deepEqual(interpretInput("/me waves", undefined), {
    kind: "send",
    event: { type: "me", text: "waves" },
  });
  assert.deepEqual(interpretInput("/msg bob hi there", undefined), {
    kind: "send",
    event: { type: "dm", to: "bob", text: "hi there" },
  });
  assert.deepEqual(interpretInput("/nick rob", undefined), {
    kind: "send",
    event: { type: "nick", name: "rob" },
  });
  assert.deepEqual(interpretInput("/who", undefined), { kind: "send", event: { type: "who" } });
  assert.deepEqual(interpretInput("/help", undefined), { kind: "help" });
  assert.deepEqual(interpretInput("/quit", undefined), { kind: "quit" });
  assert.deepEqual(interpretInput("!DISCONNECT FROM SERVER", undefined), { kind: "quit" });
  assert.deepEqual(interpretInput("//etc", undefined), {
    kind: "send",
    event: { type: "say", text: "/etc" },
  });
});

Deno.test("interpretInput keeps a multi-line paste as one message", () => {
  assert.deepEqual(interpretInput("one\ntwo", undefined), {
    kind: "send",
    event: { type: "say", text: "one\ntwo" },
  });
});

Deno.test("interpretInput ignores blank lines and explains bad commands", () => {
  assert.deepEqual(interpretInput(" \t ", undefined), { kind: "none" });
  const unknown = interpretInput("/frobnicate", undefined);
  assert.equal(unknown.kind, "error");
  assert.match(unknown.kind === "error" ? unknown.message : "", /Unknown command "\/frobnicate"/);
  const usage = interpretInput("/msg bob", undefined);
  assert.deepEqual(usage, { kind: "error", message: "Usage: /msg NAME TEXT" });
});

Deno.test("interpretInput answers the last private message with /reply and /r", () => {
  assert.deepEqual(interpretInput("/reply sure", "bob"), {
    kind: "send",
    event: { type: "dm", to: "bob", text: "sure" },
  });
  assert.deepEqual(interpretInput("/R ok", "bob"), {
    kind: "send",
    event: { type: "dm", to: "bob", text: "ok" },
  });
  assert.deepEqual(interpretInput("/reply sure", undefined), {
    kind: "error",
    message: "Nobody has sent you a private message yet",
  });
  assert.deepEqual(interpretInput("/reply", "bob"), {
    kind: "error",
    message: "Usage: /reply TEXT",
  });
  // /replying is not /reply.
  assert.equal(interpretInput("/replying x", "bob").kind, "error");
});

Deno.test("completeInput completes commands at the start of the line", () => {
  assert.deepEqual(completeInput("", "/", [], "me"), COMMAND_WORDS.map((c) => `${c} `));
  assert.deepEqual(completeInput("", "/M", [], "me"), ["/me ", "/msg "]);
  assert.deepEqual(completeInput("", "/zz", [], "me"), []);
});

Deno.test("completeInput completes names, not my own, in any case", () => {
  const names = ["Bob", "bea", "alice", "me"];
  assert.deepEqual(completeInput("", "b", names, "me"), ["bea: ", "Bob: "]);
  assert.deepEqual(completeInput("hi ", "B", names, "me"), ["bea ", "Bob "]);
  assert.deepEqual(completeInput("hi ", "@al", names, "me"), ["@alice "]);
  assert.deepEqual(completeInput("", "m", names, "ME"), []);
  assert.deepEqual(completeInput("/msg ", "a", names, "me"), ["alice "]);
  assert.deepEqual(completeInput("/", "x", names, "me"), []);
});

Deno.test("HELP_TEXT lists every command the client offers", () => {
  for (const command of ["/nick", "/msg", "/me", "/who", "/help", "/quit", "/reply"]) {
    assert.ok(HELP_TEXT.includes(command), command);
  }
});

Deno.test("completeInput completes rooms after /join and for a word starting with #", () => {
  const rooms = ["#main", "#rust", "#random", "#rust"];
  assert.deepEqual(completeInput("/join ", "#r", [], "me", rooms), ["#random ", "#rust "]);
  assert.deepEqual(completeInput("/join ", "ru", [], "me", rooms), ["#rust "]);
  assert.deepEqual(completeInput("see ", "#ma", ["main"], "me", rooms), ["#main "]);
  assert.deepEqual(completeInput("", "/jo", [], "me", rooms), ["/join "]);
});

Deno.test("interpretInput turns the room commands into room events", () => {
  assert.deepEqual(interpretInput("/join #rust", undefined), {
    kind: "send",
    event: { type: "room", name: "#rust" },
  });
  assert.deepEqual(interpretInput("/part", undefined), {
    kind: "send",
    event: { type: "room", name: "#main" },
  });
  assert.deepEqual(interpretInput("/rooms", undefined), {
    kind: "send",
    event: { type: "rooms" },
  });
});

Deno.test("HELP_TEXT speaks to a person at a terminal, not to a socket program", () => {
  assert.ok(!HELP_TEXT.includes("DISCONNECT"), HELP_TEXT);
  assert.match(HELP_TEXT, /\/quit +leave the chat/);
});

Deno.test("every command the client offers is documented in README.md and PROTOCOL.md", async () => {
  for (const file of ["README.md", "PROTOCOL.md"]) {
    const text = await Deno.readTextFile(new URL(`../${file}`, import.meta.url));
    for (const command of COMMAND_WORDS) {
      assert.ok(text.includes(`\`${command}`), `${file} does not document ${command}`);
    }
  }
});

Deno.test("completeInput offers the operator commands only to operators", () => {
  assert.deepEqual(completeInput("", "/ki", [], "me"), []);
  assert.deepEqual(completeInput("", "/ki", [], "me", [], true), ["/kick "]);
  assert.deepEqual(completeInput("", "/b", [], "me", [], true), ["/ban ", "/bans "]);
  assert.deepEqual(completeInput("/kick ", "b", ["bob", "me"], "me", [], true), ["bob "]);
});

Deno.test("helpText shows the operator commands only to operators", () => {
  assert.ok(!helpText(false).includes("/kick"));
  assert.ok(helpText(true).includes("/kick NAME [REASON]"));
  assert.equal(helpText(false), HELP_TEXT);
});

Deno.test("interpretInput sends operator commands as mod events (the server decides who may)", () => {
  const action = interpretInput("/ban bob 2h spam", undefined);
  assert.deepEqual(action, {
    kind: "send",
    event: { type: "mod", action: "ban", target: "bob", duration: "2h", reason: "spam" },
  });
});
