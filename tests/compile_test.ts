/**
 * End-to-end test of `deno task compile`: build the one-file executable, then run it as a server
 * and as a client. Where `deno compile` cannot work (it downloads its denort runtime, which some
 * machines cannot reach), the test is registered as ignored and says why on one line.
 */

import assert from "node:assert/strict";
import config from "../deno.json" with { type: "json" };
import { compileChat } from "../tools/compile.ts";
import { TEST_XDG_ENV } from "./support/net.ts";
import { tempDir } from "./support/temp.ts";

const COMPILE_TIME_LIMIT_MS = 120_000;

const dir = tempDir("chat_compile_test_");

const binary = `${dir}/chat`;
const timer = new AbortController();
const timeout = setTimeout(() => timer.abort(), COMPILE_TIME_LIMIT_MS);
const built = await compileChat({
  target: Deno.build.target,
  output: binary,
  signal: timer.signal,
}).finally(() => clearTimeout(timeout));

if (!built.ok) {
  // deno-lint-ignore no-console
  console.log(`compile_test skipped: ${built.reason}`);
  await Deno.remove(dir, { recursive: true });
}

/** Runs the executable and collects its output, for at most 30 s. */
async function runBinary(...args: string[]): Promise<Deno.CommandOutput> {
  return await new Deno.Command(binary, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).output();
}

/** A port that was free a moment ago on 127.0.0.1. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** Waits until something accepts TCP connections on the port, for at most 15 s. */
async function waitForListener(port: number, server: Deno.ChildProcess): Promise<void> {
  let exited = false;
  server.status.then(() => exited = true);
  for (let attempt = 0; attempt < 150; attempt++) {
    if (exited) throw new Error("The compiled server exited before it listened");
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`The compiled server did not listen on port ${port} within 15 s`);
}

/** Reads text from a connection until it includes `wanted` or `ms` pass; returns what came. */
async function readUntil(conn: Deno.Conn, wanted: string, ms: number): Promise<string> {
  let text = "";
  const reader = conn.readable.pipeThrough(new TextDecoderStream()).getReader();
  const deadline = setTimeout(() => reader.cancel().catch(() => {}), ms);
  try {
    while (!text.includes(wanted)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
  } finally {
    clearTimeout(deadline);
    await reader.cancel().catch(() => {});
  }
  return text;
}

/** Waits for a promise for at most `ms`; resolves to undefined if time runs out. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((resolve) =>
    timer = setTimeout(() => resolve(undefined), ms)
  );
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Collects a child's piped output as text. */
async function collect(stream: ReadableStream<Uint8Array>): Promise<string> {
  let text = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) text += chunk;
  return text;
}

Deno.test({
  name: "deno task compile builds an executable that serves and joins",
  ignore: !built.ok,
  async fn(t) {
    try {
      await t.step("--version prints the version, the Deno version and the target", async () => {
        const run = await runBinary("--version");
        assert.equal(run.code, 0);
        assert.equal(
          new TextDecoder().decode(run.stdout),
          `chat ${config.version}\ndeno ${Deno.version.deno}\ntarget ${Deno.build.target}\n`,
        );
      });

      await t.step("hints name the executable, not deno task", async () => {
        const run = await runBinary("join", "--nmae", "x");
        assert.equal(run.code, 2);
        assert.match(new TextDecoder().decode(run.stderr), /^Run 'chat help join' for details\.$/m);
      });

      await t.step("a usage mistake exits 2", async () => {
        const run = await runBinary("serve", "--port", "70000");
        assert.equal(run.code, 2);
        assert.match(new TextDecoder().decode(run.stderr), /^Usage: chat serve/m);
      });

      await t.step("serve listens, and a line piped through join reaches the room", async () => {
        const port = freePort();
        const server = new Deno.Command(binary, {
          args: [
            "serve",
            "--port",
            String(port),
            "--host",
            "127.0.0.1",
            "--data",
            ":memory:",
            "--tls-port",
            "0",
          ],
          env: { ...TEST_XDG_ENV },
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        const serverOut = collect(server.stdout);
        const serverErr = collect(server.stderr);
        let watcher: Deno.Conn | undefined;
        let client: Deno.ChildProcess | undefined;
        let clientOutput: Promise<[string, string]> | undefined;
        try {
          await waitForListener(port, server);
          // A line-mode watcher: its first line is its name. Whether it joins before or after
          // the message, it sees it (live, or replayed from history).
          watcher = await Deno.connect({ hostname: "127.0.0.1", port });
          await watcher.write(new TextEncoder().encode("watcher\n"));
          client = new Deno.Command(binary, {
            args: ["join", `127.0.0.1:${port}`, "--name", "compiled", "--no-reconnect"],
            env: { ...TEST_XDG_ENV },
            stdin: "piped",
            stdout: "piped",
            stderr: "piped",
          }).spawn();
          clientOutput = Promise.all([collect(client.stdout), collect(client.stderr)]);
          const writer = client.stdin.getWriter();
          await writer.write(new TextEncoder().encode("hello from the binary\n"));
          await writer.close();
          const seen = await readUntil(watcher, "compiled: hello from the binary", 15_000);
          if (await within(client.status, 15_000) === undefined) client.kill("SIGKILL");
          const printed = (await clientOutput).join("");
          assert.ok(
            seen.includes("compiled: hello from the binary"),
            `The watcher did not see the message; it saw ${JSON.stringify(seen)}, and the ` +
              `client printed ${JSON.stringify(printed)}`,
          );
        } finally {
          try {
            watcher?.close();
          } catch {
            // Closed by the server.
          }
          if (client !== undefined) {
            if (await within(client.status, 0) === undefined) client.kill("SIGKILL");
            await client.status;
            if (clientOutput !== undefined) await within(clientOutput, 5_000);
          }
          server.kill("SIGTERM");
          if (await within(server.status, 10_000) === undefined) server.kill("SIGKILL");
          await server.status;
          // Bounded: a process the server left behind could hold its pipes open.
          await within(Promise.all([serverOut, serverErr]), 5_000);
        }
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
