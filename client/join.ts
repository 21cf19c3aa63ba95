/**
 * `chat join`: picks the interactive client when both stdin and stdout are terminals (and
 * `--json` is off), the piped client otherwise.
 *
 * @module
 */

import { validateName } from "../protocol/names.ts";
import type { JoinConfig } from "./config.ts";
import { ConnectError, formatAddress } from "./connection.ts";
import { IDENTITY_FILE, IdentityError, loadIdentity } from "./identity.ts";
import { configDir, KNOWN_SERVERS_FILE, KnownServers } from "./known_servers.ts";
import type { TrustSettings } from "./secure_dial.ts";
import { runInteractive } from "./interactive.ts";
import { OutputQueue, writerSink } from "./output.ts";
import { runPiped } from "./piped.ts";
import { denoTerminal } from "./terminal.ts";

function _env(name: string): string | undefined {
  try {
    const value = Deno.env.get(name);
    return value === "" ? undefined : value;
  } catch {
    return undefined;
  }
}

function _isTerminal(stream: { isTerminal(): boolean }): boolean {
  try {
    return stream.isTerminal();
  } catch {
    return false;
  }
}

/**
 * Runs the chat client with the given settings.
 *
 * @param config the settings from the command line
 * @returns the exit code: 0 after leaving cleanly, 1 when the server cannot be reached, the
 *   name is refused in piped mode, or the connection is lost with `--no-reconnect`
 */
export async function runJoin(config: JoinConfig): Promise<number> {
  const stderr = new OutputQueue(writerSink(Deno.stderr));
  const user = _env("USER") ?? _env("LOGNAME");
  try {
    let dir: string;
    let known: KnownServers;
    try {
      dir = configDir();
      known = KnownServers.load(`${dir}/${KNOWN_SERVERS_FILE}`);
    } catch (error) {
      stderr.write(`${error instanceof Error ? error.message : error}\n`);
      return 1;
    }
    if (config.forget) {
      const forgotten = known.forget(config.host, config.port);
      stderr.write(
        forgotten.length === 0
          ? `No pin for ${formatAddress(config.host, config.port)} in ${known.path}\n`
          : `Forgot the pinned certificate of ${forgotten.join(", ")} in ${known.path}\n`,
      );
      return 0;
    }
    let identity;
    try {
      identity = (await loadIdentity(`${dir}/${IDENTITY_FILE}`)).identity;
    } catch (error) {
      if (!(error instanceof IdentityError)) throw error;
      stderr.write(`${error.message}\n`);
      return 1;
    }
    const trust: TrustSettings = {
      mode: config.plain ? "plain" : "tls",
      known,
      ...(config.fingerprint === undefined ? {} : { pin: config.fingerprint }),
    };
    // The variable keeps the password out of the process list; the flag wins when both are set.
    const password = config.password ?? _env("CHAT_PASSWORD");
    const secret = password === undefined ? {} : { password };
    if (!config.json && _isTerminal(Deno.stdin) && _isTerminal(Deno.stdout)) {
      return await runInteractive({
        host: config.host,
        port: config.port,
        ...(config.servers === undefined ? {} : { servers: config.servers }),
        ...(config.name === undefined ? {} : { name: config.name }),
        ...(user === undefined ? {} : { defaultName: user }),
        color: config.color,
        reconnect: config.reconnect,
        terminal: denoTerminal(),
        trust,
        identity,
        ...secret,
      });
    }
    const name = config.name ?? user;
    if (name === undefined) {
      stderr.write("No name to join with: pass --name NAME (or set USER)\n");
      return 1;
    }
    if (config.name === undefined) {
      const checked = validateName(name);
      if (!checked.ok) {
        stderr.write(
          `$USER is not a name the server accepts (${checked.error.message}): pass --name NAME\n`,
        );
        return 1;
      }
    }
    return await runPiped({
      host: config.host,
      port: config.port,
      ...(config.servers === undefined ? {} : { servers: config.servers }),
      name,
      json: config.json,
      reconnect: config.reconnect,
      trust,
      identity,
      ...secret,
      input: Deno.stdin.readable,
      stdout: new OutputQueue(writerSink(Deno.stdout)),
      stderr,
    });
  } catch (error) {
    if (!(error instanceof ConnectError)) throw error;
    stderr.write(`${error.message}\n`);
    return 1;
  } finally {
    await stderr.drain();
  }
}
