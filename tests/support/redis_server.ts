/**
 * A real `redis-server` for tests: started on a free port of 127.0.0.1 in a temporary
 * directory, without persistence unless asked, and stopped (directory removed) at the end.
 * Tests that need it skip, with {@linkcode REDIS_SKIP_REASON} in their name, only when no
 * `redis-server` can be run here (`.ci/run` installs it with apt-get when it is missing).
 *
 * @module
 */

import { delay } from "./net.ts";
import { tempDir } from "./temp.ts";

/** Whether `redis-server` can be run on this machine (checked once, at load). */
export const REDIS_AVAILABLE: boolean = await (async () => {
  try {
    const { success } = await new Deno.Command("redis-server", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
})();

/** Why the Redis tests are skipped, for test names and logs. */
export const REDIS_SKIP_REASON =
  "skipped: redis-server is not installed (apt-get install redis-server; .ci/run does it)";

/** A port nobody listens on now (the kernel picks it; a race with others is unlikely). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** A running `redis-server`. */
export class RedisServer {
  /** Its port on 127.0.0.1. */
  readonly port: number;
  /** Its working directory (removed by {@linkcode RedisServer.stop}). */
  readonly dir: string;
  readonly #persist: boolean;
  #child: Deno.ChildProcess | null = null;

  private constructor(port: number, dir: string, persist: boolean) {
    this.port = port;
    this.dir = dir;
    this.#persist = persist;
  }

  /**
   * Starts a server and waits until it answers.
   *
   * @param options `persist`: keep data in an append-only file in its directory, so a restart
   *   finds it again (the default keeps nothing, as `--save ""` says)
   * @returns the server
   */
  static async start(options: { readonly persist?: boolean } = {}): Promise<RedisServer> {
    const dir = tempDir("chat-redis-");
    const server = new RedisServer(freePort(), dir, options.persist ?? false);
    await server.#spawn();
    return server;
  }

  /** `redis://127.0.0.1:PORT`. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** The process id while it runs. */
  get pid(): number {
    if (this.#child === null) throw new Error("The Redis server is not running");
    return this.#child.pid;
  }

  async #spawn(): Promise<void> {
    const args = [
      "--port",
      String(this.port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--dir",
      this.dir,
      "--appendonly",
      this.#persist ? "yes" : "no",
      "--appendfsync",
      "always",
    ];
    this.#child = new Deno.Command("redis-server", {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: this.port });
        const answered = await ping(conn);
        conn.close();
        if (answered) return;
      } catch {
        // Not listening yet.
      }
      if (Date.now() > deadline) {
        await this.kill();
        throw new Error(`redis-server did not answer on port ${this.port} within 10 s`);
      }
      await delay(20);
    }
  }

  /** Kills the server at once (SIGKILL), keeping its directory; see {@linkcode restart}. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (child === null) return;
    this.#child = null;
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    await child.status;
  }

  /** Starts it again on the same port and directory (after {@linkcode kill}). */
  async restart(): Promise<void> {
    if (this.#child !== null) await this.kill();
    await this.#spawn();
  }

  /** Stops the server and removes its directory. Calling it twice does nothing. */
  async stop(): Promise<void> {
    await this.kill();
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }

  /** Stops it: `await using redis = await RedisServer.start()`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** Sends PING and reads the answer; true on `+PONG`. */
async function ping(conn: Deno.Conn): Promise<boolean> {
  await conn.write(new TextEncoder().encode("PING\r\n"));
  const buffer = new Uint8Array(64);
  const read = await conn.read(buffer);
  return read !== null && new TextDecoder().decode(buffer.subarray(0, read)).startsWith("+PONG");
}
