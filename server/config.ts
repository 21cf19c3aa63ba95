/**
 * The settings of `chat serve`: their defaults, the parser of the command line, and the help
 * text.
 *
 * @module
 */

import { type FlagSpecs, parseFlags } from "../flags/flags.ts";
import { UsageError } from "../flags/usage_error.ts";
import { DEFAULT_MAX_ROOMS } from "../core/broker.ts";
import { isHost, type NumberRule, parseChoice, parseNumber } from "../flags/values.ts";
import { defaultDataDir } from "../store/database.ts";
import { MAX_PASSWORD_CHARS } from "../protocol/event_parser.ts";
import { isFingerprint } from "./moderation.ts";
import { DEFAULT_SUMMARY_MEMBERS } from "./fanout.ts";

/** The settings of a chat server. Durations are in seconds and may have fractions. */
export interface ServeConfig {
  /** Address to listen on; `::` is every interface, IPv4 and IPv6 alike. */
  readonly host: string;
  /** TCP port to listen on; 0 picks a free one. */
  readonly port: number;
  /** How many recent messages a new member (or one that moves) is sent; 0 for none. */
  readonly history: number;
  /** How many rooms may exist at once, `#main` included. */
  readonly maxRooms: number;
  /**
   * From how many members on, a room's joins and leaves are gathered and reach each member as
   * one summary (`presence`, or a line of text); 0 never.
   */
  readonly summaryMembers: number;
  /** Message of the day, sent in `welcome`; absent for none. */
  readonly motd?: string;
  /** The server's name, sent in `welcome`. */
  readonly serverName: string;
  /** Format of the log on stderr. */
  readonly log: "text" | "json";
  /** Log only warnings and errors. */
  readonly quiet: boolean;
  /** Also log the text of chat messages. */
  readonly logMessages: boolean;
  /** Largest body (JSON included) or line a client may send, in bytes. */
  readonly maxMessageBytes: number;
  /** Most connections at once. */
  readonly maxClients: number;
  /** Most connections at once from one IP address; 0 for no limit. */
  readonly maxPerIp: number;
  /** Seconds a new connection has to finish its handshake (framing and name). */
  readonly handshakeTimeout: number;
  /** Seconds a client has to finish a frame or line once it has started one. */
  readonly frameTimeout: number;
  /** Seconds of silence from a JSON client before the server pings it. */
  readonly pingInterval: number;
  /** Seconds without any frame from a JSON client before it is closed; above `pingInterval`. */
  readonly idleTimeout: number;
  /** Events a client may send in a burst before flood control holds it back. */
  readonly rateBurst: number;
  /** Events per second a client may keep sending; 0 turns flood control off. */
  readonly ratePerSecond: number;
  /** Bytes queued for a client that reads too slowly before it is closed as `slow`. */
  readonly sendQueueBytes: number;
  /** Seconds a write to a client may stay blocked before it is closed as `slow`. */
  readonly writeTimeout: number;
  /**
   * The data dir holding the server's database, or `:memory:` to keep nothing. The command
   * line's default is `$XDG_DATA_HOME/chat/<port>`; the library's is `:memory:`.
   */
  readonly data: string;
  /** Whether to listen for TLS beside the plain port. */
  readonly tls: boolean;
  /** The TLS port; absent for the plain port + 1 (a free one when the plain port is 0). */
  readonly tlsPort?: number;
  /** A PEM certificate (chain) file; absent to use the one generated and kept in the database. */
  readonly tlsCert?: string;
  /** The PEM private key file of `tlsCert`. */
  readonly tlsKey?: string;
  /** Days a name may stay unused before its owner loses it. */
  readonly nameDays: number;
  /** Days a stored message is kept; 0 keeps them regardless of age. */
  readonly keepDays: number;
  /** Messages kept per room in the database; 0 keeps them regardless of count. */
  readonly keepMessages: number;
  /** The password every client must give (`--password` or `CHAT_PASSWORD`); none when absent. */
  readonly password?: string;
  /** A file of the fingerprints allowed to join (`--allow`); everyone when absent. */
  readonly allow?: string;
  /** Fingerprints of the operators named on the command line (`--op`, repeatable). */
  readonly ops?: readonly string[];
  /** Seconds of quiet that end a raw client's message (and make a text connection raw). */
  readonly rawPause: number;
  /** Seconds of silence from a new connection before it is greeted; 0 never greets. */
  readonly greetAfter: number;
  /** `redis://HOST:PORT[/DB]` to be a node of a cluster; absent for a server on its own. */
  readonly redis?: string;
  /** The cluster's name (the prefix of its Redis keys). */
  readonly cluster: string;
  /** Seconds of silence after which a node counts as lost and its members leave. */
  readonly nodeTimeout: number;
}

/**
 * The defaults of `chat serve`. `serverName` here is the fallback `"chat"`; the command line
 * uses {@linkcode defaultServerName} (the machine's host name) when `--server-name` is not given.
 *
 * @example Start from the defaults in a test
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_SERVE_CONFIG, type ServeConfig } from "./config.ts";
 * const config: ServeConfig = { ...DEFAULT_SERVE_CONFIG, host: "127.0.0.1", port: 0 };
 * assert.ok(config.history === 50);
 * ```
 */
export const DEFAULT_SERVE_CONFIG: ServeConfig = Object.freeze({
  host: "::",
  port: 5050,
  history: 50,
  maxRooms: DEFAULT_MAX_ROOMS,
  summaryMembers: DEFAULT_SUMMARY_MEMBERS,
  serverName: "chat",
  log: "text",
  quiet: false,
  logMessages: false,
  maxMessageBytes: 4096,
  maxClients: 10000,
  maxPerIp: 32,
  handshakeTimeout: 10,
  frameTimeout: 30,
  pingInterval: 30,
  idleTimeout: 75,
  rateBurst: 10,
  ratePerSecond: 5,
  sendQueueBytes: 1048576,
  writeTimeout: 10,
  data: ":memory:",
  tls: true,
  nameDays: 90,
  keepDays: 30,
  keepMessages: 10000,
  rawPause: 0.3,
  greetAfter: 2,
  cluster: "chat",
  nodeTimeout: 10,
});

/** The longest duration a flag accepts, in seconds: timers cannot wait much beyond 24 days. */
const _MAX_SECONDS = 1_000_000;

/** The longest `--raw-pause`: a longer one would merge a person's messages. */
const _MAX_RAW_PAUSE = 5;

const _SECONDS: NumberRule = {
  integer: false,
  min: 0,
  aboveMin: true,
  max: _MAX_SECONDS,
  unit: "seconds",
};

type _NumberField = {
  [K in keyof ServeConfig]-?: ServeConfig[K] extends number ? K : never;
}[keyof ServeConfig];

/** Every numeric flag: its field and the range it accepts. */
const _NUMBER_FLAGS: Readonly<Record<string, readonly [_NumberField, NumberRule]>> = {
  "port": ["port", { integer: true, min: 0, max: 65535 }],
  "history": ["history", { integer: true, min: 0 }],
  "max-rooms": ["maxRooms", { integer: true, min: 1 }],
  "summary-members": [
    "summaryMembers",
    { integer: true, min: 0, zeroMeans: "never summarises joins and leaves" },
  ],
  "max-message-bytes": ["maxMessageBytes", { integer: true, min: 64, max: 1048576 }],
  "max-clients": ["maxClients", { integer: true, min: 1 }],
  "max-per-ip": ["maxPerIp", { integer: true, min: 0, zeroMeans: "means no limit" }],
  "handshake-timeout": ["handshakeTimeout", _SECONDS],
  "frame-timeout": ["frameTimeout", _SECONDS],
  "ping-interval": ["pingInterval", _SECONDS],
  "idle-timeout": ["idleTimeout", _SECONDS],
  "rate-burst": ["rateBurst", { integer: true, min: 1 }],
  "rate-per-second": [
    "ratePerSecond",
    { integer: false, min: 0, zeroMeans: "turns flood control off" },
  ],
  "send-queue-bytes": ["sendQueueBytes", { integer: true, min: 1024 }],
  "write-timeout": ["writeTimeout", _SECONDS],
  "name-days": ["nameDays", { integer: false, min: 0, aboveMin: true, max: 100_000, unit: "days" }],
  "keep-days": ["keepDays", { integer: false, min: 0, max: 100_000, unit: "days" }],
  "keep-messages": ["keepMessages", { integer: true, min: 0, max: 1_000_000_000 }],
  "raw-pause": ["rawPause", { ..._SECONDS, max: _MAX_RAW_PAUSE }],
  "greet-after": [
    "greetAfter",
    { ..._SECONDS, aboveMin: false, zeroMeans: "never greets" },
  ],
  "node-timeout": ["nodeTimeout", { ..._SECONDS, min: 0.5, aboveMin: false }],
};

const _FLAGS = {
  "host": { type: "string" },
  "port": { type: "string", short: "p" },
  "history": { type: "string" },
  "max-rooms": { type: "string" },
  "summary-members": { type: "string" },
  "motd": { type: "string" },
  "server-name": { type: "string" },
  "log": { type: "string" },
  "quiet": { type: "boolean" },
  "log-messages": { type: "boolean" },
  "max-message-bytes": { type: "string" },
  "max-clients": { type: "string" },
  "max-per-ip": { type: "string" },
  "handshake-timeout": { type: "string" },
  "frame-timeout": { type: "string" },
  "ping-interval": { type: "string" },
  "idle-timeout": { type: "string" },
  "rate-burst": { type: "string" },
  "rate-per-second": { type: "string" },
  "send-queue-bytes": { type: "string" },
  "write-timeout": { type: "string" },
  "data": { type: "string" },
  "tls-port": { type: "string" },
  "no-tls": { type: "boolean" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  "name-days": { type: "string" },
  "keep-days": { type: "string" },
  "keep-messages": { type: "string" },
  "raw-pause": { type: "string" },
  "greet-after": { type: "string" },
  "password": { type: "string" },
  "allow": { type: "string" },
  "op": { type: "string" },
  "redis": { type: "string" },
  "cluster": { type: "string" },
  "node-timeout": { type: "string" },
} as const satisfies FlagSpecs;

/**
 * The long names of every flag `chat serve` accepts, without dashes (`"max-clients"`), for
 * help checks and completion.
 */
export const SERVE_FLAGS: readonly string[] = Object.freeze(Object.keys(_FLAGS));

/** The flag table of `chat serve`, as its parser reads it; shell completion is made from it. */
export const SERVE_FLAG_SPECS: FlagSpecs = _FLAGS;

/** The usage line of `chat serve`. */
export const SERVE_USAGE = "Usage: chat serve [options]";

/**
 * The name a server gives itself when `--server-name` is not given: the machine's host name,
 * or `"chat"` if it cannot be read (no `--allow-sys` permission, or an empty name).
 *
 * @returns the default server name
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultServerName } from "./config.ts";
 * assert.ok(defaultServerName().length > 0);
 * ```
 */
export function defaultServerName(): string {
  try {
    const name = Deno.hostname().trim();
    return name === "" ? "chat" : name;
  } catch {
    return "chat";
  }
}

/**
 * Reads the arguments of `chat serve` (everything after `serve`) into a full configuration,
 * with the defaults for whatever is not given.
 *
 * @param args the arguments after `serve`
 * @returns the server's configuration
 * @throws {UsageError} for an unknown flag, a missing or bad value, a value out of range, an
 *   `--idle-timeout` not above `--ping-interval`, or any plain argument
 *
 * @example Listen on loopback with a short history
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseServeArgs } from "./config.ts";
 * const config = parseServeArgs(["--host", "127.0.0.1", "-p", "0", "--history", "5"]);
 * assert.ok(config.port === 0 && config.history === 5 && config.idleTimeout === 75);
 * ```
 */
export function parseServeArgs(
  args: readonly string[],
  env: {
    readonly CHAT_REDIS_URL?: string | undefined;
    readonly CHAT_PASSWORD?: string | undefined;
  } = {},
): ServeConfig {
  const { values } = parseFlags(args, _FLAGS, 0);
  const numbers: Partial<Record<_NumberField, number>> = {};
  for (const [flag, [field, rule]] of Object.entries(_NUMBER_FLAGS)) {
    const text = values[flag as keyof typeof _FLAGS];
    if (typeof text === "string") numbers[field] = parseNumber(`--${flag}`, text, rule);
  }
  const config: ServeConfig = {
    ...DEFAULT_SERVE_CONFIG,
    ...numbers,
    host: values.host === undefined ? DEFAULT_SERVE_CONFIG.host : _parseListenHost(values.host),
    serverName: values["server-name"] === undefined
      ? defaultServerName()
      : _parseServerName(values["server-name"]),
    log: values.log === undefined
      ? DEFAULT_SERVE_CONFIG.log
      : parseChoice("--log", values.log, ["text", "json"] as const),
    quiet: values.quiet ?? DEFAULT_SERVE_CONFIG.quiet,
    logMessages: values["log-messages"] ?? DEFAULT_SERVE_CONFIG.logMessages,
    ...(values.motd === undefined || values.motd.trim() === "" ? {} : { motd: values.motd }),
    tls: !(values["no-tls"] ?? false),
    data: "",
    ..._redis(values.redis, env.CHAT_REDIS_URL),
    cluster: values.cluster === undefined
      ? DEFAULT_SERVE_CONFIG.cluster
      : _parseCluster(values.cluster),
  };
  if (config.idleTimeout <= config.pingInterval) {
    throw new UsageError(
      `The --idle-timeout must be greater than the --ping-interval, but ` +
        `${JSON.stringify(String(config.idleTimeout))} is not greater than ` +
        `${JSON.stringify(String(config.pingInterval))}`,
    );
  }
  const tls = _parseTls(values, config);
  return {
    ...config,
    ...tls,
    data: _parseData(values.data, config.port),
    ..._parseTrust(args, values, env),
  };
}

/** Reads `--password` (or `CHAT_PASSWORD`), `--allow` and every `--op`. */
function _parseTrust(
  args: readonly string[],
  values: { password?: string; allow?: string },
  env: { readonly CHAT_PASSWORD?: string | undefined },
): Pick<ServeConfig, "password" | "allow" | "ops"> {
  const result: { password?: string; allow?: string; ops?: readonly string[] } = {};
  const password = values.password ?? env.CHAT_PASSWORD;
  if (password !== undefined) {
    if (password.trim() === "") {
      throw new UsageError(
        `The ${values.password === undefined ? "CHAT_PASSWORD variable" : "--password value"} ` +
          `must not be blank: give a password, or leave it out for an open server`,
      );
    }
    if (password.length > MAX_PASSWORD_CHARS || /[\r\n]/.test(password)) {
      throw new UsageError(
        `The password must be one line of at most ${MAX_PASSWORD_CHARS} characters`,
      );
    }
    result.password = password;
  }
  if (values.allow !== undefined) {
    if (values.allow.trim() === "") throw new UsageError("The --allow value must be a file");
    result.allow = values.allow;
  }
  const ops = _repeated(args, "op");
  for (const op of ops) {
    if (!isFingerprint(op)) {
      throw new UsageError(
        `The --op value must be an identity's fingerprint (SHA256: and 43 base64 ` +
          `characters, as 'chat join' and /whois show it): ${JSON.stringify(op)}`,
      );
    }
  }
  if (ops.length > 0) result.ops = ops;
  return result;
}

/** Every value of a flag given more than once (`--op A --op B`, or `--op=A`). */
function _repeated(args: readonly string[], flag: string): string[] {
  const found: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") break;
    if (arg === `--${flag}` && args[i + 1] !== undefined) found.push(args[++i]!);
    else if (arg.startsWith(`--${flag}=`)) found.push(arg.slice(flag.length + 3));
  }
  return found;
}

/** Reads `--data`, or the default data dir of the port. */
function _parseData(text: string | undefined, port: number): string {
  if (text === undefined) {
    try {
      return defaultDataDir(port);
    } catch (error) {
      throw new UsageError(error instanceof Error ? error.message : String(error));
    }
  }
  if (text.trim() === "") {
    throw new UsageError(
      `The --data value must be a directory or ":memory:": ${JSON.stringify(text)}`,
    );
  }
  return text;
}

/** Reads `--tls-port`, `--tls-cert` and `--tls-key`, which go together and not with `--no-tls`. */
function _parseTls(
  values: { "tls-port"?: string; "tls-cert"?: string; "tls-key"?: string; "no-tls"?: boolean },
  config: ServeConfig,
): Pick<ServeConfig, "tlsPort" | "tlsCert" | "tlsKey"> {
  const given = (["tls-port", "tls-cert", "tls-key"] as const).filter((f) =>
    values[f] !== undefined
  );
  if (!config.tls && given.length > 0) {
    throw new UsageError(`--no-tls turns TLS off, so --${given[0]} has nothing to do: drop one`);
  }
  if ((values["tls-cert"] === undefined) !== (values["tls-key"] === undefined)) {
    throw new UsageError(
      "--tls-cert and --tls-key go together: give both, or neither for a generated certificate",
    );
  }
  const result: { tlsPort?: number; tlsCert?: string; tlsKey?: string } = {};
  if (values["tls-port"] !== undefined) {
    result.tlsPort = parseNumber("--tls-port", values["tls-port"], {
      integer: true,
      min: 0,
      max: 65535,
    });
    if (result.tlsPort !== 0 && result.tlsPort === config.port) {
      throw new UsageError(
        `The --tls-port must differ from the --port: both are ${
          JSON.stringify(String(config.port))
        }`,
      );
    }
  } else if (config.tls && config.port === 65535) {
    throw new UsageError("The TLS port defaults to --port + 1, past 65535: give --tls-port");
  }
  if (values["tls-cert"] !== undefined) result.tlsCert = values["tls-cert"];
  if (values["tls-key"] !== undefined) result.tlsKey = values["tls-key"];
  return result;
}

/** Reads `--host`, allowing an IPv6 address in brackets (`[::1]`). */
function _parseListenHost(text: string): string {
  const host = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  if (!isHost(host)) {
    throw new UsageError(
      `The --host value must be a host name or an IP address: ${JSON.stringify(text)}`,
    );
  }
  return host;
}

/** Reads `--redis` (or `CHAT_REDIS_URL` when the flag is absent; empty means none). */
function _redis(flag: string | undefined, env: string | undefined): { redis?: string } {
  const text = flag ?? (env === undefined || env.trim() === "" ? undefined : env.trim());
  if (text === undefined) return {};
  const from = flag === undefined ? "CHAT_REDIS_URL" : "--redis";
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  const db = url?.pathname.replace(/^\//, "") ?? "";
  if (
    url === undefined || url.protocol !== "redis:" || url.hostname === "" || !/^\d{0,2}$/.test(db)
  ) {
    throw new UsageError(
      `The ${from} value must look like redis://HOST:PORT or redis://HOST:PORT/DB: ${
        JSON.stringify(text)
      }`,
    );
  }
  return { redis: text };
}

/** Reads `--cluster`: letters, digits, `_`, `-` and `.`, as it prefixes Redis keys. */
function _parseCluster(text: string): string {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(text)) {
    throw new UsageError(
      `The --cluster value must be 1 to 64 letters, digits, "_", "-" or ".": ${
        JSON.stringify(text)
      }`,
    );
  }
  return text;
}

/** Reads `--server-name`: anything but blank. */
function _parseServerName(text: string): string {
  const name = text.trim();
  if (name === "") {
    throw new UsageError(`The --server-name value must not be blank: ${JSON.stringify(text)}`);
  }
  return name;
}

const _D = DEFAULT_SERVE_CONFIG;

/**
 * The help of `chat serve`, printed by `chat help serve` and `chat serve --help`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SERVE_HELP } from "./config.ts";
 * assert.ok(SERVE_HELP.includes("--max-per-ip"));
 * ```
 */
export const SERVE_HELP: string = `chat serve: run a chat server

${SERVE_USAGE}

People join with 'chat join HOST', 'nc HOST PORT', 'telnet HOST PORT' or any classic
socket-chat client (with or without the 64-byte header); the server tells them apart from their
first bytes. It logs to stderr and stops on Ctrl-C.

Network:
  --host HOST               Address to listen on; "::" is every interface, IPv4 and IPv6
                            (default: ${_D.host})
  -p, --port PORT           TCP port, 0 to pick a free one (default: ${_D.port})

Rooms:
  --server-name NAME        Name sent to clients on join (default: this machine's host name)
  --motd TEXT               Message of the day sent to each new member (default: none)
  --history N               Recent messages of a room replayed to each member entering it,
                            0 for none (default: ${_D.history})
  --max-rooms N             Most rooms at once, #main included; members make a room with
                            /join #name (default: ${_D.maxRooms})
  --summary-members N       From this many members on, a room's joins and leaves are gathered
                            for up to 0.1 s and reach each member as one summary; 0 for
                            one notice per name always (default: ${_D.summaryMembers})

Encryption (TLS):
  --tls-port PORT           Port for TLS, which 'chat join' uses by default; 0 picks a free one
                            (default: --port + 1, or a free one when --port is 0)
  --no-tls                  Listen on the plain port only (default: TLS on)
  --tls-cert FILE           PEM certificate to serve, with --tls-key (default: a self-signed
                            one generated on first start and kept in the data dir)
  --tls-key FILE            PEM private key of --tls-cert (default: none)

Who may join, and operators:
  --password TEXT           Password every client must give; prefer the CHAT_PASSWORD variable,
                            which other users cannot read in the process list (default: none)
  --allow FILE              Only the identities whose fingerprints are in FILE (one a line, #
                            comments) may join; reread on SIGHUP and when it changes
                            (default: everyone)
  --op FINGERPRINT          An operator's identity; repeat for more. Operators can /kick, /ban,
                            /mute and /op others (default: none)

Names and data:
  --data DIR                Where the server keeps its database (messages, owned names, the
                            certificate); ":memory:" keeps nothing
                            (default: $XDG_DATA_HOME/chat/PORT)
  --name-days N             Days a name stays owned by its identity while unused
                            (default: ${_D.nameDays})
  --keep-days N             Days the messages of every room are kept, 0 for no limit
                            (default: ${_D.keepDays})
  --keep-messages N         Messages kept per room, 0 for no limit (default: ${_D.keepMessages})

Cluster (several servers, one chat):
  --redis URL               Share rooms, names and history with every server on this Redis,
                            redis://HOST:PORT[/DB] (default: $CHAT_REDIS_URL, else none)
  --cluster NAME            Name of the chat on that Redis; servers with another name are
                            another chat (default: ${_D.cluster})
  --node-timeout S          Silence after which a server counts as lost and its members leave
                            (reason node_lost), in seconds (default: ${_D.nodeTimeout})

Log:
  --log FORMAT              Log format: text or json (default: ${_D.log})
  --quiet                   Log only warnings and errors (default: off)
  --log-messages            Also log the text of chat messages (default: off)

Limits:
  --max-message-bytes N     Largest message or line a client may send, 64 to 1048576
                            (default: ${_D.maxMessageBytes})
  --max-clients N           Most connections at once (default: ${_D.maxClients})
  --max-per-ip N            Most connections from one IP address, 0 for no limit
                            (default: ${_D.maxPerIp})
  --rate-burst N            Messages a client may send in a burst (default: ${_D.rateBurst})
  --rate-per-second N       Messages per second a client may keep sending, 0 turns flood
                            control off (default: ${_D.ratePerSecond})
  --send-queue-bytes N      Output queued for a slow reader before it is dropped, at least 1024
                            (default: ${_D.sendQueueBytes})

Timeouts, in seconds (fractions allowed, at most ${_MAX_SECONDS}):
  --handshake-timeout S     Time a new connection has to send its name
                            (default: ${_D.handshakeTimeout})
  --frame-timeout S         Time to finish a message once it has started
                            (default: ${_D.frameTimeout})
  --ping-interval S         Silence from a 'chat join' client before it is pinged
                            (default: ${_D.pingInterval})
  --idle-timeout S          Silence from a 'chat join' client before it is dropped; must be
                            greater than --ping-interval (default: ${_D.idleTimeout})
  --write-timeout S         Time a write to a client may stay blocked before it is dropped
                            (default: ${_D.writeTimeout})
  --greet-after S           Silence from a new connection before it is sent a greeting that
                            asks for a name (for people at nc or telnet), 0 never greets
                            (default: ${_D.greetAfter})
  --raw-pause S             Quiet that ends a message from a raw client (one that sends bare
                            text with no newline), at most ${_MAX_RAW_PAUSE} (default: ${_D.rawPause})

  -h, --help                Show this help
`;
