import assert from "node:assert/strict";
import { COMMANDS, type CommandTarget, helpLines, runCommand } from "./commands.ts";

/** Records what each command asks of its member. */
class RecordingTarget implements CommandTarget {
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
  sendWho(): void {
    this.calls.push(["who"]);
  }
  sendWhois(name: string): void {
    this.calls.push(["whois", name]);
  }
  sendInfo(lines: readonly string[]): void {
    this.calls.push(["info", ...lines]);
  }
  quit(): void {
    this.calls.push(["quit"]);
  }
}

Deno.test("runCommand dispatches every command to its action", () => {
  const target = new RecordingTarget();
  runCommand(target, "say", { text: "hi" });
  runCommand(target, "me", { text: "waves" });
  runCommand(target, "dm", { to: "bob", text: "psst" });
  runCommand(target, "nick", { name: "robert" });
  runCommand(target, "who", {});
  runCommand(target, "whois", { name: "bob" });
  runCommand(target, "quit", {});
  assert.deepEqual(target.calls, [
    ["say", "hi", "say"],
    ["say", "waves", "me"],
    ["dm", "bob", "psst"],
    ["rename", "robert"],
    ["who"],
    ["whois", "bob"],
    ["quit"],
  ]);
  runCommand(target, "help", {});
  assert.deepEqual(target.calls.at(-1), ["info", ...helpLines()]);
});

Deno.test("flood control counts exactly say, me, dm and nick", () => {
  const counted = Object.entries(COMMANDS).filter(([, c]) => c.counted).map(([name]) => name);
  assert.deepEqual(counted.sort(), ["dm", "me", "nick", "say"]);
});

Deno.test("helpLines is generated from the registry: one aligned line per command", () => {
  const lines = helpLines();
  assert.equal(lines.length, Object.keys(COMMANDS).length + 1);
  for (const command of Object.values(COMMANDS)) {
    const line = lines.find((l) => l.trimStart().startsWith(command.usage));
    assert.ok(line, `${command.usage} is listed`);
    assert.ok(line.endsWith(command.summary));
  }
  for (const usage of ["/nick NEW", "/msg NAME TEXT", "/me TEXT", "/who", "/help", "/quit"]) {
    assert.ok(lines.some((l) => l.includes(usage)), usage);
  }
  assert.ok(lines.some((l) => l.includes("!DISCONNECT FROM SERVER")));
  const entries = Object.values(COMMANDS);
  const columns = new Set(
    entries.map((c) => lines.find((l) => l.endsWith(c.summary))!.indexOf(c.summary)),
  );
  assert.equal(columns.size, 1, "the summaries start in one column");
});
