/**
 * The settings of `chat join`: the parser of its command line (including the `HOST[:PORT]`
 * address) and the help text.
 *
 * @module
 */

import { type FlagSpecs, parseFlags } from "../flags/flags.ts";
import { UsageError } from "../flags/usage_error.ts";
import { isHost, type NumberRule, parseNumber } from "../flags/values.ts";
import { isFingerprint } from "../protocol/fingerprint.ts";

/** The settings of a `chat join` client. */
export interface JoinConfig {
  /** The server's host name or IP address (an IPv6 address without brackets). */
  readonly host: string;
  /** The server's TCP port. */
  readonly port: number;
  /** The name to join with; absent if none was given. */
  readonly name?: string;
  /** Print events as JSON lines instead of chat text. */
  readonly json: boolean;
  /** Use colours; false with `--no-color` or a non-empty `NO_COLOR`. */
  readonly color: boolean;
  /** Reconnect when the connection drops; false with `--no-reconnect`. */
  readonly reconnect: boolean;
  /** Connect without TLS (`--plain`); the screen then says the chat is not encrypted. */
  readonly plain: boolean;
  /** The certificate fingerprint to require (`--fingerprint`), pinned before first contact. */
  readonly fingerprint?: string;
  /** Forget the pins of the address and exit (`--forget`). */
  readonly forget: boolean;
  /** The server's password (`--password`; `CHAT_PASSWORD` is read when it is absent). */
  readonly password?: string;
  /**
   * Every server given (`HOST1,HOST2:PORT`), the first being `host` and `port`: the nodes of a
   * cluster, tried in turn when the connection is lost. Absent when one server was given.
   */
  readonly servers?: readonly { readonly host: string; readonly port: number }[];
}

/** The defaults of `chat join`. */
export const DEFAULT_JOIN_CONFIG: JoinConfig = Object.freeze({
  host: "localhost",
  port: 5050,
  json: false,
  color: true,
  reconnect: true,
  plain: false,
  forget: false,
});

/** The usage line of `chat join`. */
export const JOIN_USAGE = "Usage: chat join [HOST[:PORT]] [options]";

const _PORT: NumberRule = { integer: true, min: 1, max: 65535 };

const _FLAGS = {
  "port": { type: "string", short: "p" },
  "name": { type: "string", short: "n" },
  "json": { type: "boolean" },
  "no-color": { type: "boolean" },
  "no-reconnect": { type: "boolean" },
  "plain": { type: "boolean" },
  "fingerprint": { type: "string" },
  "forget": { type: "boolean" },
  "password": { type: "string" },
} as const satisfies FlagSpecs;

/**
 * The long names of every flag `chat join` accepts, without dashes (`"no-color"`), for help
 * checks and completion.
 */
export const JOIN_FLAGS: readonly string[] = Object.freeze(Object.keys(_FLAGS));

/** The flag table of `chat join`, as its parser reads it; shell completion is made from it. */
export const JOIN_FLAG_SPECS: FlagSpecs = _FLAGS;

/**
 * Reads a server address: `example.org`, `10.0.0.2:6000`, `[::1]:5050`, `[::1]`, or a bare
 * IPv6 address such as `::1` (which cannot carry a port: put it in brackets to give one).
 *
 * @param text the address as typed
 * @returns the host (IPv6 without brackets) and the port if one was given
 * @throws {UsageError} if the host or the port is missing or malformed
 *
 * @example Read the address forms
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseHostPort } from "./config.ts";
 * assert.ok(parseHostPort("10.0.0.2:6000").port === 6000);
 * assert.ok(parseHostPort("[::1]:5050").host === "::1");
 * assert.ok(parseHostPort("::1").port === undefined);
 * ```
 */
export function parseHostPort(text: string): { host: string; port?: number } {
  let host: string;
  let portText: string | undefined;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close === -1) {
      throw new UsageError(`The address is missing its closing "]": ${JSON.stringify(text)}`);
    }
    host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== "") {
      if (!rest.startsWith(":")) {
        throw new UsageError(
          `Only ":PORT" may follow the "]" of an address: ${JSON.stringify(text)}`,
        );
      }
      portText = rest.slice(1);
    }
    if (!host.includes(":") || !isHost(host)) {
      throw new UsageError(
        `The address in brackets must be an IPv6 address: ${JSON.stringify(text)}`,
      );
    }
  } else {
    const colons = text.split(":").length - 1;
    if (colons === 1) {
      const at = text.indexOf(":");
      host = text.slice(0, at);
      portText = text.slice(at + 1);
    } else {
      host = text;
    }
    if (!isHost(host)) {
      throw new UsageError(
        `The address must be HOST or HOST:PORT, with HOST a host name or an IP address: ` +
          JSON.stringify(text),
      );
    }
  }
  if (portText === undefined) return { host };
  if (portText === "") {
    throw new UsageError(`The address has a ":" but no port after it: ${JSON.stringify(text)}`);
  }
  try {
    return { host, port: parseNumber("port", portText, _PORT) };
  } catch {
    throw new UsageError(
      `The port of the address must be a whole number from 1 to 65535: ${JSON.stringify(text)}`,
    );
  }
}

/**
 * Reads the arguments of `chat join` (everything after `join`) into a full configuration.
 *
 * @param args the arguments after `join`
 * @param env the environment variables that matter: a non-empty `NO_COLOR` turns colours off
 * @returns the client's configuration
 * @throws {UsageError} for an unknown flag, a missing or bad value, more than one address, or a
 *   port given both in the address and with `--port` that disagree
 *
 * @example Join a local server as alice
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseJoinArgs } from "./config.ts";
 * const config = parseJoinArgs(["[::1]:6000", "-n", "alice"], { NO_COLOR: "1" });
 * assert.ok(config.host === "::1" && config.port === 6000 && config.name === "alice");
 * assert.ok(config.color === false && config.reconnect === true);
 * ```
 */
export function parseJoinArgs(
  args: readonly string[],
  env: { NO_COLOR?: string | undefined },
): JoinConfig {
  const { values, positionals } = parseFlags(args, _FLAGS, 1);
  const addresses = positionals[0] === undefined
    ? []
    : positionals[0].split(",").map((part) => parseHostPort(part.trim()));
  const address = addresses[0];
  const flagPort = values.port === undefined
    ? undefined
    : parseNumber("--port", values.port, _PORT);
  if (address?.port !== undefined && flagPort !== undefined && address.port !== flagPort) {
    throw new UsageError(
      `The port in the address disagrees with --port: ${JSON.stringify(String(address.port))} ` +
        `versus ${JSON.stringify(String(flagPort))}`,
    );
  }
  let name: string | undefined;
  if (values.name !== undefined) {
    name = values.name.trim();
    if (name === "") {
      throw new UsageError(`The --name value must not be blank: ${JSON.stringify(values.name)}`);
    }
  }
  const noColorEnv = env.NO_COLOR !== undefined && env.NO_COLOR !== "";
  const plain = values.plain ?? false;
  const fingerprint = values.fingerprint?.trim();
  if (fingerprint !== undefined) {
    if (!isFingerprint(fingerprint)) {
      throw new UsageError(
        `The --fingerprint value must be SHA256: and 43 base64 characters, as the server ` +
          `prints it: ${JSON.stringify(values.fingerprint)}`,
      );
    }
    if (plain) {
      throw new UsageError("--plain connects without TLS, so --fingerprint has nothing to check");
    }
  }
  const port = address?.port ?? flagPort ?? DEFAULT_JOIN_CONFIG.port;
  const servers = addresses.map((a) => ({ host: a.host, port: a.port ?? flagPort ?? port }));
  return {
    ...(servers.length > 1 ? { servers } : {}),
    host: address?.host ?? DEFAULT_JOIN_CONFIG.host,
    port: address?.port ?? flagPort ?? DEFAULT_JOIN_CONFIG.port,
    ...(name === undefined ? {} : { name }),
    json: values.json ?? DEFAULT_JOIN_CONFIG.json,
    color: !(values["no-color"] ?? false) && !noColorEnv,
    reconnect: !(values["no-reconnect"] ?? false),
    plain,
    ...(fingerprint === undefined ? {} : { fingerprint }),
    forget: values.forget ?? false,
    ...(values.password === undefined ? {} : { password: values.password }),
  };
}

/**
 * The help of `chat join`, printed by `chat help join` and `chat join --help`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { JOIN_HELP } from "./config.ts";
 * assert.ok(JOIN_HELP.includes("--no-reconnect"));
 * ```
 */
export const JOIN_HELP: string = `chat join: join a chat server from the terminal

${JOIN_USAGE}

HOST[:PORT] is the server (default: ${DEFAULT_JOIN_CONFIG.host}:${DEFAULT_JOIN_CONFIG.port}).
Examples: example.org, 10.0.0.2:6000, [::1]:5050. A bare IPv6 address such as ::1 takes no port:
write [::1]:6000 or use --port. For the servers of a cluster, give them all, separated by
commas (node1,node2:6000): when one is lost the chat carries on at another, where it was.

Options:
  -p, --port PORT           Server port, if the address has none (default: ${DEFAULT_JOIN_CONFIG.port})
  -n, --name NAME           Your name in the room (default: none given, you are asked)
  --json                    For scripts: print each event as one JSON line, and read stdin
                            as JSON too: one event per line, such as
                            {"type":"say","text":"hi"}, not plain text (default: off)
  --no-color                Print without colours; a non-empty NO_COLOR does the same
                            (default: colours on)
  --no-reconnect            Exit when the connection drops instead of reconnecting
                            (default: reconnect)
  --plain                   Connect without TLS; the chat is then not encrypted
                            (default: TLS, the certificate pinned on first use)
  --fingerprint SHA256:...  Require this certificate, as the server printed it at start
                            (default: trust and pin the first one seen)
  --forget                  Forget the pinned certificate of HOST[:PORT] and exit
                            (default: off)
  --password TEXT           The server's password, if it has one; the CHAT_PASSWORD variable
                            is better, since others can read a command line (default: none;
                            on a terminal you are asked for it when the server wants one)
  -h, --help                Show this help

The chat is encrypted with TLS unless --plain is given. The server's certificate is pinned in
$XDG_CONFIG_HOME/chat/known_servers on first use; a changed certificate is refused. Your
identity (an Ed25519 key that owns your name on each server) is $XDG_CONFIG_HOME/chat/identity.

Type /help once joined for the chat commands.
`;
