/**
 * Terminal tests of the catch-up of `chat join`: the real client in tmux against a real server
 * with a data dir. "Since you left" scrolls the missed messages in, marked, in order, once each,
 * while the input line keeps working; a reconnection resumes with no duplicate and no hole.
 * Skipped, with the reason, when tmux is missing.
 */

import assert from "node:assert/strict";
import { Recorder, startTestServer, waitFor } from "./support/client_harness.ts";
import { ChatSession } from "../client/session.ts";
import { Tmux, TMUX_MISSING } from "./support/tmux.ts";
import { tempDir } from "./support/temp.ts";

const HOST = "127.0.0.1";

/** Config and data dirs of their own: the identity the test's client proves is made there. */
function clientDirs(): { config: string; data: string } {
  return {
    config: tempDir("chat-catchup-cfg-"),
    data: tempDir("chat-catchup-data-"),
  };
}

function joinCommand(port: number, dirs: { config: string; data: string }): string {
  // `exec`, so the pane's process is the client itself.
  return `exec env -u NO_COLOR XDG_CONFIG_HOME=${dirs.config} XDG_DATA_HOME=${dirs.data} ` +
    `${Deno.execPath()} run -A main.ts join ${HOST}:${port} --name alice`;
}

async function peer(port: number, name: string): Promise<{ session: ChatSession; seen: Recorder }> {
  const seen = new Recorder();
  const session = new ChatSession({ host: HOST, port, reconnect: false }, seen);
  await session.connect();
  await session.join(name);
  return { session, seen };
}

/** The numbers of the lines `bob: PREFIX N` in a screen, in the order they show. */
function numbered(screen: string, prefix: string): number[] {
  const pattern = new RegExp(`bob: ${prefix} (\\d+)$`);
  return screen.split("\n").flatMap((line) => {
    const match = pattern.exec(line.trimEnd());
    return match === null ? [] : [Number(match[1])];
  });
}

function freePort(): number {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

Deno.test({
  name: "tty: since you left, 300 missed messages scroll in marked, in order, once, while typing",
  ignore: TMUX_MISSING,
  async fn() {
    const dirs = clientDirs();
    const server = await startTestServer({
      data: tempDir("chat-catchup-server-"),
      history: 5,
    });
    const bob = await peer(server.port, "bob");
    try {
      {
        const tmux = new Tmux({ prefix: "chat-catchup-test" });
        try {
          await tmux.start(joinCommand(server.port, dirs));
          await tmux.waitForScreen((s) => /^alice #main> ?$/m.test(s), "the first prompt");
          await tmux.type("/quit");
          await tmux.keys("Enter");
          await waitFor(
            () => bob.seen.all.some((e) => e.type === "leave" && e.name === "alice"),
            "alice to leave",
          );
        } finally {
          await tmux.kill();
        }
      }
      for (let i = 1; i <= 300; i++) bob.session.send({ type: "say", text: `catch ${i}` });
      await waitFor(() => bob.seen.texts.includes("catch 300"), "bob's last echo");

      const tmux = new Tmux({ prefix: "chat-catchup-test" });
      try {
        await tmux.start(joinCommand(server.port, dirs));
        const marked = await tmux.waitForScreen(
          (s) => s.includes("-- 300 new since you left --") && s.includes("catching up"),
          "the marker and the catch-up under way",
        );
        assert.ok(!marked.includes("catch 300"), "not all at once");
        // The input line works during the catch-up: a line typed now is sent now.
        await tmux.type("typed during the catch-up");
        await tmux.keys("Enter");
        await waitFor(() => bob.seen.texts.includes("typed during the catch-up"), "the typed line");
        assert.match(
          await tmux.screen(),
          /catching up, \d+ to go/,
          "the line went out before the catch-up was over",
        );
        await tmux.waitForScreen(
          (s) => s.includes("alice: typed during the catch-up") && !s.includes("catching up"),
          "the catch-up to end, then the echo",
        );
        const all = await tmux.screen(false, true);
        assert.deepEqual(
          numbered(all, "catch"),
          Array.from({ length: 300 }, (_, i) => i + 1),
          "every missed message, in order, once",
        );
        const lines = all.split("\n").map((line) => line.trimEnd());
        const at = (pattern: RegExp) => lines.findIndex((line) => pattern.test(line));
        assert.ok(at(/-- 300 new since you left --/) < at(/bob: catch 1$/), "the marker first");
        assert.ok(
          at(/bob: catch 300$/) < at(/alice: typed during the catch-up/),
          "what arrived during the catch-up comes after it",
        );
        assert.equal(await tmux.lastLine(), "alice #main>");
      } finally {
        await tmux.kill();
      }
    } finally {
      await bob.session.quit();
      await server.close();
    }
  },
});

Deno.test({
  name: "tty: Esc shows the rest of a catch-up at once",
  ignore: TMUX_MISSING,
  async fn() {
    const dirs = clientDirs();
    // A plain join replays the last --history messages: 1000 is a long catch-up too.
    const server = await startTestServer({ history: 1000 });
    const bob = await peer(server.port, "bob");
    try {
      for (let i = 1; i <= 1000; i++) bob.session.send({ type: "say", text: `old ${i}` });
      await waitFor(() => bob.seen.texts.includes("old 1000"), "bob's last echo");
      const tmux = new Tmux({ prefix: "chat-catchup-test" });
      try {
        await tmux.start(joinCommand(server.port, dirs));
        await tmux.waitForScreen((s) => s.includes("catching up"), "the catch-up under way");
        const started = Date.now();
        await tmux.keys("Escape");
        await tmux.waitForScreen(
          (s) => s.includes("bob: old 1000") && !s.includes("catching up"),
          "the rest at once",
        );
        const took = Date.now() - started;
        const all = await tmux.screen(false, true);
        // tmux keeps 2000 lines of scrollback: the 1000 all fit.
        assert.deepEqual(numbered(all, "old"), Array.from({ length: 1000 }, (_, i) => i + 1));
        assert.ok(took < 1500, `the rest came ${took} ms after Esc`);
        assert.equal(await tmux.lastLine(), "alice #main>");
      } finally {
        await tmux.kill();
      }
    } finally {
      await bob.session.quit();
      await server.close();
    }
  },
});

Deno.test({
  name: "tty: a reconnection across a server restart resumes with no duplicate and no hole",
  ignore: TMUX_MISSING,
  async fn() {
    const dirs = clientDirs();
    const data = tempDir("chat-catchup-server-");
    const [port, tlsPort] = [freePort(), freePort()];
    let server = await startTestServer({ port, tlsPort, data, history: 50 });
    let bob = await peer(port, "bob");
    const tmux = new Tmux({ prefix: "chat-catchup-test" });
    try {
      await tmux.start(joinCommand(port, dirs));
      await tmux.waitForScreen((s) => /^alice #main> ?$/m.test(s), "the prompt");
      for (let i = 1; i <= 3; i++) bob.session.send({ type: "say", text: `turn ${i}` });
      await tmux.waitForScreen((s) => s.includes("bob: turn 3"), "the first three");
      await bob.session.quit();
      await server.close();
      await tmux.waitForScreen((s) => s.includes("offline"), "the client to notice");
      server = await startTestServer({ port, tlsPort, data, history: 50 });
      // Said while alice is away: her resume brings them, and only them.
      bob = await peer(port, "bob");
      for (let i = 4; i <= 6; i++) bob.session.send({ type: "say", text: `turn ${i}` });
      await waitFor(() => bob.seen.texts.includes("turn 6"), "bob's echo");
      await tmux.keys("Enter"); // Enter on an empty line while offline retries now.
      await tmux.waitForScreen((s) => s.includes("bob: turn 6"), "the missed messages");
      bob.session.send({ type: "say", text: "turn 7" });
      await tmux.waitForScreen((s) => s.includes("bob: turn 7"), "a live one after");
      const all = await tmux.screen(false, true);
      assert.deepEqual(numbered(all, "turn"), [1, 2, 3, 4, 5, 6, 7], all);
      assert.ok(!all.includes("not shown") && !all.includes("reset"), "no gap: the epoch held");
    } finally {
      await tmux.kill();
      await bob.session.quit();
      await server.close();
    }
  },
});
