/**
 * Adversarial suite, content (issue 6, conditions 11 to 14): terminal escapes, forged lines,
 * spoofed names and blank messages, each sent by JSON, plain and line clients and watched by
 * all three.
 */

import assert from "node:assert/strict";
import { JoinWatcher } from "../support/adversary.ts";
import {
  closeAll,
  joinJson,
  joinLine,
  joinPlain,
  parseEvent,
  startTestServer,
  type TestServer,
  waitUntil,
  WireClient,
  type WireEvent,
} from "../support/net.ts";

type Style = "json" | "plain" | "line";
const STYLES: readonly Style[] = ["json", "plain", "line"];

/** A member of each style, joined and past its welcome. */
interface Member {
  readonly style: Style;
  readonly name: string;
  readonly client: WireClient;
}

async function join(server: TestServer, style: Style, name: string): Promise<Member> {
  const port = server.port;
  if (style === "json") return { style, name, client: (await joinJson(port, name)).client };
  const client = style === "plain" ? await joinPlain(port, name) : await joinLine(port, name);
  await client.waitFor((item) => item.includes("/help"), `${name}'s welcome`);
  return { style, name, client };
}

/** Sends chat text as the member's style does: a `say` or `me` event, a body, or a line. */
async function send(member: Member, text: string, kind: "say" | "me" | "dm" = "say", to = "") {
  if (member.style === "json") {
    const event = kind === "dm" ? { type: "dm", to, text } : { type: kind, text };
    return await member.client.sendJson(event);
  }
  const command = kind === "me" ? `/me ${text}` : kind === "dm" ? `/msg ${to} ${text}` : text;
  if (member.style === "plain") return await member.client.sendFrame(command);
  return await member.client.sendLine(command);
}

/** Waits until a watcher has seen a chat line or message with each of the texts. */
async function waitForTexts(member: Member, texts: readonly string[]): Promise<void> {
  const left = new Set(texts);
  await member.client.waitFor((item) => {
    for (const text of left) if (item.includes(text)) left.delete(text);
    return left.size === 0;
  }, `${[...left].join(", ")} at ${member.name}`);
}

/** Every string inside a JSON value. */
function strings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (typeof value === "object" && value !== null) return Object.values(value).flatMap(strings);
  return [];
}

/** What a member received, as the strings that reach its terminal (JSON: every string field). */
function terminalText(member: Member): string[] {
  return member.style === "json"
    ? member.client.received.flatMap((body) => strings(JSON.parse(body)))
    : member.client.received;
}

/** The bidi controls and C1 controls, and DEL; C0 controls are added below. */
const _OTHER_CONTROLS = "\\x7f-\\x9f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069";
/** C0 controls other than TAB (LF included), DEL, C1 controls, and bidi controls. */
const RAW_CONTROL = new RegExp(`[\\x00-\\x08\\x0a-\\x1f${_OTHER_CONTROLS}]`);
/** The same, but LF allowed (a JSON message's text may hold several lines). */
const RAW_CONTROL_NO_LF = new RegExp(`[\\x00-\\x08\\x0b-\\x1f${_OTHER_CONTROLS}]`);

Deno.test("condition 11: terminal escapes in messages and names never reach a terminal raw, in all three client styles", async () => {
  await using server = await startTestServer({ quiet: true, rateBurst: 200 });
  const members: Member[] = [];
  const strangers: WireClient[] = [];
  let cli: JoinWatcher | undefined;
  try {
    for (const style of STYLES) members.push(await join(server, style, `esc${style}`));
    // The JSON client's terminal: `chat join` itself, whose output is what a person sees.
    cli = new JoinWatcher(server.port, "esccli");
    await members[0]!.client.waitForEvent((e) => e.type === "join" && e.name === "esccli");
    const hostile = [
      "\x1b[31mred\x1b[0m",
      "\x1b[2J\x1b[Hcleared",
      "\x1b]52;c;ZXZpbA==\x07clip",
      "\x1b]52;c;ZXZpbA==\x1b\\clip2",
      "\x1b]0;title\x07titled",
      "bell\x07\x07",
      "\u009b31mc1csi",
      "\u009d52;c;eA==\u009cc1osc",
      "\u0090dcs\u009c",
      "abc\b\b\bxyz",
      "del\x7fete",
      "\x1bcreset",
      "\x1bP+q\x1b\\dcs",
      "\u202eevil\u202c",
      "nul\x00byte",
    ];
    // Names with escapes are refused, and the refusal itself shows them escaped.
    const names = ["ev\x1b[31mil", "\x1b]52;c;eA==\x07x", "a\x07b", "c1\u009bx", "bs\bx"];
    for (const sender of members) {
      for (const [i, text] of hostile.entries()) {
        const kind = i % 3 === 0 ? "me" : i % 3 === 1 ? "dm" : "say";
        const to = members[(members.indexOf(sender) + 1) % members.length]!.name;
        await send(sender, `${sender.style}${i} ${text}`, kind, to);
      }
      // Renames to such names too.
      for (const name of names.slice(0, 2)) {
        if (sender.style === "json") await sender.client.sendJson({ type: "nick", name });
        else await send(sender, `/nick ${name}`);
      }
      await send(sender, `done-${sender.style}`);
    }
    // Plain clients are left out: an invalid name makes them a guest, not a refusal.
    for (const style of STYLES.filter((style) => style !== "plain")) {
      const client = await WireClient.connect(server.port, {
        mode: style === "line" ? "line" : "frame64",
      });
      strangers.push(client);
      for (const name of names) {
        if (style === "json") await client.sendJson({ type: "hello", name, protocol: 1 });
        else await client.sendLine(name);
        const refusal = await client.waitFor((item) => /bad_name/.test(item), "bad_name");
        assert.doesNotMatch(
          style === "json" ? parseEvent(refusal).message as string : refusal,
          RAW_CONTROL,
        );
      }
    }
    // A last "who" from each member: its answer comes after every earlier reply.
    for (const member of members) {
      if (member.style === "json") await member.client.sendJson({ type: "who" });
      else await send(member, "/who");
    }
    for (const member of members) {
      await waitForTexts(
        member,
        STYLES.map((style) => `done-${style}`).filter((t) =>
          member.style === "json" || t !== `done-${member.style}`
        ),
      );
      await member.client.waitFor((item) => /^\* online|"type":"who"/.test(item), "who");
    }
    for (const member of members) {
      for (const text of terminalText(member)) {
        assert.doesNotMatch(text, RAW_CONTROL_NO_LF, `${member.name} got ${JSON.stringify(text)}`);
      }
      // What could be shown was: the words around the escapes arrive.
      const all = terminalText(member).join("\n");
      for (const word of ["red", "cleared", "clip2", "titled", "xyz", "reset", "evil"]) {
        assert.ok(all.includes(word), `${member.name} lacks ${word}`);
      }
      for (const stranger of strangers) {
        const got = stranger.received.flatMap((item) =>
          stranger.mode === "line" ? [item] : strings(JSON.parse(item.startsWith("{") ? item : "0"))
        );
        for (const text of got) assert.doesNotMatch(text, RAW_CONTROL, JSON.stringify(text));
      }
    }
    // Nobody was renamed to an escape.
    const json = members[0]!.client.received.map(parseEvent);
    assert.deepEqual(json.filter((e) => e.type === "nick"), []);
    // What `chat join` printed: the words, and nothing a terminal would act on.
    await waitUntil(() => STYLES.every((s) => cli!.stdout.includes(`done-${s}`)), "chat join");
    const run = await cli.finish();
    cli = undefined;
    assert.equal(run.code, 0, run.stderr);
    // (It is sent the messages and actions; the private messages go to the members.)
    for (const word of ["red", "clip2", "c1csi", "xyz", "reset"]) {
      assert.ok(
        run.stdout.includes(word),
        `chat join did not print ${word}: ${JSON.stringify(run)}`,
      );
    }
    for (const line of run.stdout.split("\n")) {
      assert.doesNotMatch(line, RAW_CONTROL, `chat join printed ${JSON.stringify(line)}`);
    }
  } finally {
    await cli?.finish();
    await closeAll([...members.map((m) => m.client), ...strangers]);
  }
});

Deno.test("condition 12: CR and LF cannot forge a line from someone else, in any client style", async () => {
  await using server = await startTestServer({ quiet: true, rateBurst: 200 });
  const members: Member[] = [];
  let cli: JoinWatcher | undefined;
  try {
    const bob = await join(server, "json", "bob");
    for (const style of STYLES) members.push(await join(server, style, `mal${style}`));
    const watchers: Member[] = [];
    for (const style of STYLES) watchers.push(await join(server, style, `watch${style}`));
    members.push(bob, ...watchers);
    // The JSON client's terminal: `chat join` itself.
    cli = new JoinWatcher(server.port, "watchcli");
    await bob.client.waitForEvent((e) => e.type === "join" && e.name === "watchcli");
    const breaks = ["\r", "\r\n", "\n", "\u2028", "\u2029", "\u0085", "\x0b", "\x0c", "\x1bE"];
    const forgers = members.slice(0, 3);
    for (const forger of forgers) {
      let n = 0;
      for (const br of breaks) {
        // A line client cannot send a LF inside a line; everything else it can.
        if (forger.style === "line" && br.includes("\n")) continue;
        for (const kind of ["say", "me", "dm"] as const) {
          await send(forger, `hi${br}bob: forged ${forger.style}${n++}`, kind, "watchline");
        }
      }
      await send(forger, `${br0(forger)}bob: forged start ${forger.style}`);
      await send(forger, `\x1b[1Gbob: forged column ${forger.style}`);
      await send(forger, `done-${forger.style}`);
    }
    for (const watcher of watchers) {
      await waitForTexts(watcher, forgers.map((f) => `done-${f.style}`));
      for (const item of watcher.client.received) {
        if (watcher.style === "json") {
          const event = parseEvent(item);
          for (const text of strings(event)) assert.doesNotMatch(text, RAW_CONTROL_NO_LF);
          if (event.type === "message" || event.type === "dm") {
            if (String(event.text).includes("forged")) assert.match(String(event.from), /^mal/);
          }
          continue;
        }
        // Text clients: every line of a forger's message carries the forger's prefix.
        assert.doesNotMatch(item, RAW_CONTROL, JSON.stringify(item));
        if (item.includes("forged")) {
          assert.match(
            item,
            /^(mal(json|plain|line): |\* mal(json|plain|line) |\[dm\] mal(json|plain|line): )/,
            `${watcher.name} got the forged line ${JSON.stringify(item)}`,
          );
        }
      }
    }
    // What `chat join` printed: every line with a forgery names its real sender before it.
    await waitUntil(
      () => forgers.every((f) => cli!.stdout.includes(`done-${f.style}`)),
      "chat join",
    );
    const run = await cli.finish();
    cli = undefined;
    assert.equal(run.code, 0, run.stderr);
    const printed = run.stdout.split("\n");
    assert.ok(printed.filter((line) => line.includes("forged")).length >= 40, run.stdout);
    for (const line of printed) {
      assert.doesNotMatch(line, RAW_CONTROL, `chat join printed ${JSON.stringify(line)}`);
      if (line.includes("forged")) {
        assert.match(line, /^\d\d:\d\d (\* )?mal(json|plain|line)\b/, `chat join printed ${line}`);
      }
    }
  } finally {
    await cli?.finish();
    await closeAll(members.map((m) => m.client));
  }
});

/** A line break each style can put at the very start of a message. */
function br0(member: Member): string {
  return member.style === "line" ? "\r" : "\r\n";
}

Deno.test("condition 13: spoofed names get bad_name or name_taken in every client style", async () => {
  await using server = await startTestServer({ quiet: true, rateBurst: 200 });
  const clients: WireClient[] = [];
  try {
    const watcher = (await joinJson(server.port, "watcher")).client;
    clients.push(watcher);
    clients.push((await joinJson(server.port, "alice")).client);
    clients.push((await joinJson(server.port, "jos\u00e9")).client);
    const badNames = [
      "ali\u200bce",
      "\u200balice",
      "alice\u200d",
      "alice\u200c",
      "alice\ufeff",
      "a\u2060lice",
      "\u202eecila",
      "alice\u202c",
      "bob\u2066",
      "\u200fmallory",
      "\u061cali",
      "\u3164",
      "alice\u3164",
      "a".repeat(33),
      "\u00e9".repeat(33),
      "a b",
      " alice",
      "alice ",
      "ali\tce",
      "server",
      "SYSTEM",
      "Admin",
      "rOOt",
      "chat",
      "Everyone",
      "HERE",
    ];
    const takenNames = ["ALICE", "Alice", "alicE", "jose\u0301", "JOS\u00c9", "WATCHER"];
    for (const style of STYLES) {
      const client = await WireClient.connect(server.port, {
        mode: style === "line" ? "line" : "frame64",
      });
      clients.push(client);
      for (
        const [name, code] of [
          ...badNames.map((n) => [n, "bad_name"] as const),
          ...takenNames.map((n) => [n, "name_taken"] as const),
        ]
      ) {
        if (style === "line" && /[\r\n]/.test(name)) continue;
        // A plain client whose name is not valid joins as a guest (see the guest test below);
        // a valid name that is taken is still refused.
        if (style === "plain" && code === "bad_name" && name.trim() !== "alice") continue;
        if (style === "json") {
          await client.sendJson({ type: "hello", name, protocol: 1 });
          assert.equal((await client.nextEvent()).code, code, `${style} ${JSON.stringify(name)}`);
        } else {
          if (style === "plain") await client.sendFrame(name);
          else await client.sendLine(name);
          // A text client's name is trimmed like any line of text, so " alice" is "alice".
          const expected = name.trim() !== name && name.trim() === "alice" ? "name_taken" : code;
          assert.match(await client.next(), new RegExp(`^! ${expected}: `), JSON.stringify(name));
          assert.equal(await client.next(), "name?");
        }
      }
      // The longest name is accepted, on the same connection.
      const longest = `${style[0]}${"n".repeat(31)}`;
      if (style === "json") await client.sendJson({ type: "hello", name: longest, protocol: 1 });
      else if (style === "plain") await client.sendFrame(longest);
      else await client.sendLine(longest);
      await client.waitFor((item) => item.includes("welcome"), "welcome");
    }
    // Renames to the same names are refused too (spread over members: each error counts).
    const renamers = [];
    for (let i = 0; i < 8; i++) {
      const style = STYLES[i % 3]!;
      const port = server.port;
      const name = `renamer${i}`;
      const client = style === "json"
        ? (await joinJson(port, name)).client
        : style === "plain"
        ? await joinPlain(port, name)
        : await joinLine(port, name);
      clients.push(client);
      renamers.push({ style, client });
    }
    const all = [...badNames, ...takenNames];
    for (const [i, name] of all.entries()) {
      const { style, client } = renamers[i % renamers.length]!;
      if (style === "line" && /[\r\n]/.test(name)) continue;
      if (style !== "json" && name.trim() !== name) continue;
      if (style === "json") await client.sendJson({ type: "nick", name });
      else if (style === "plain") await client.sendFrame(`/nick ${name}`);
      else await client.sendLine(`/nick ${name}`);
      const code = takenNames.includes(name) ? "name_taken" : "bad_name";
      const refusal = await client.waitFor((item) => /bad_name|name_taken/.test(item), "refusal");
      assert.ok(refusal.includes(code), `${style} /nick ${JSON.stringify(name)}: ${refusal}`);
    }
    await clients[1]!.sendJson({ type: "say", text: "sentinel" });
    const seen: WireEvent[] = [];
    for (;;) {
      const event = await watcher.nextEvent();
      if (event.type === "message" && event.text === "sentinel") break;
      seen.push(event);
    }
    const names = seen.filter((e) => e.type === "join").map((e) => e.name as string);
    assert.deepEqual(names, [
      "alice",
      "jos\u00e9",
      ...STYLES.map((s) => `${s[0]}${"n".repeat(31)}`),
      ...renamers.map((_, i) => `renamer${i}`),
    ]);
    assert.deepEqual(seen.filter((e) => e.type === "nick"), [], "nobody was renamed");
    assert.deepEqual(seen.filter((e) => e.type === "leave"), [], "nobody was closed for it");
  } finally {
    await closeAll(clients);
  }
});

Deno.test("condition 14: empty and whitespace-only messages are not relayed", async () => {
  await using server = await startTestServer({ quiet: true, rateBurst: 200 });
  const members: Member[] = [];
  try {
    const watchers: Member[] = [];
    for (const style of STYLES) watchers.push(await join(server, style, `watch${style}`));
    members.push(...watchers);
    const blanks = [
      "",
      " ",
      "   ",
      "\t",
      "\n\n",
      " \r\n ",
      "\u00a0",
      "\u3000",
      "\u200b",
      "\u2028",
      "\ufeff",
      "\x1b[0m",
      "\u200b\u200d\u2060",
    ];
    const senders: Member[] = [];
    for (const style of STYLES) {
      for (const kind of ["say", "me", "dm"] as const) {
        const sender = await join(server, style, `${kind}${style}`);
        senders.push(sender);
        members.push(sender);
        for (const text of blanks) {
          // A line client cannot put a LF inside a line.
          if (sender.style === "line" && /[\n]/.test(text)) continue;
          await send(sender, text, kind, "watchjson");
        }
        await send(sender, `done ${kind}${style}`, kind, "watchjson");
      }
    }
    for (const watcher of watchers) {
      // Only what is addressed to this watcher: dm sentinels go to watchjson alone.
      const expected = senders
        .filter((s) => !s.name.startsWith("dm") || watcher.name === "watchjson")
        .map((s) => `done ${s.name}`);
      await waitForTexts(watcher, expected);
      const chat = watcher.client.received.filter((item) =>
        watcher.style === "json"
          ? ["message", "dm"].includes(parseEvent(item).type)
          : /^(\* |\[dm\] )?(say|me|dm)(json|plain|line)(: | )/.test(item) &&
            !/^\* \S+ (joined|left)/.test(item)
      );
      assert.equal(chat.length, expected.length, `${watcher.name} got ${JSON.stringify(chat)}`);
      for (const item of chat) assert.match(item, /done /);
    }
  } finally {
    await closeAll(members.map((m) => m.client));
  }
});
