/**
 * The servers `chat join` has pinned: `$XDG_CONFIG_HOME/chat/known_servers`, one line per
 * address, `HOST:PORT FINGERPRINT [tls=PORT]` (the last for a plain port whose server moved the
 * client to its TLS port). Like OpenSSH's known_hosts, a file that others could have written,
 * or that cannot be read line by line, is not trusted at all.
 *
 * @module
 */

import { isFingerprint } from "../protocol/fingerprint.ts";

/** The file's name in the config dir. */
export const KNOWN_SERVERS_FILE = "known_servers";

/** One pinned address. */
export interface KnownServer {
  /** `HOST:PORT` as {@linkcode addressKey} writes it. */
  readonly address: string;
  /** The certificate fingerprint pinned. */
  readonly fingerprint: string;
  /** For a plain port: the TLS port the server moved the client to. */
  readonly tlsPort?: number;
}

/** Why the known_servers file cannot be trusted; the message names the file and the fix. */
export class KnownServersError extends Error {
  /**
   * @param message a sentence a person can act on
   */
  constructor(message: string) {
    super(message);
    this.name = "KnownServersError";
  }
}

/**
 * The key of an address in the file: the host in lower case (IPv6 in brackets) and the port.
 *
 * @param host a host name or IP address (IPv6 without brackets)
 * @param port the port
 * @returns such as `example.org:5051` or `[::1]:5051`
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { addressKey } from "./known_servers.ts";
 * assert.ok(addressKey("Example.ORG", 5051) === "example.org:5051");
 * assert.ok(addressKey("::1", 5051) === "[::1]:5051");
 * ```
 */
export function addressKey(host: string, port: number): string {
  const lower = host.toLowerCase();
  return lower.includes(":") ? `[${lower}]:${port}` : `${lower}:${port}`;
}

/**
 * The pins, read from and written to one file.
 */
export class KnownServers {
  /** The file. */
  readonly path: string;
  #entries: Map<string, KnownServer>;

  private constructor(path: string, entries: Map<string, KnownServer>) {
    this.path = path;
    this.#entries = entries;
  }

  /**
   * Reads the file (a missing file is an empty list).
   *
   * @param path the file
   * @returns the pins
   * @throws {KnownServersError} when the file is writable by group or others, unreadable, or has
   *   a line that is not a pin
   */
  static load(path: string): KnownServers {
    let text: string;
    try {
      const info = Deno.statSync(path);
      if (info.mode !== null && (info.mode & 0o022) !== 0) {
        throw new KnownServersError(
          `${path} is writable by others (mode ${(info.mode & 0o777).toString(8)}), so its pins ` +
            `cannot be trusted: check it, then run 'chmod 600 ${path}'`,
        );
      }
      text = Deno.readTextFileSync(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return new KnownServers(path, new Map());
      if (error instanceof KnownServersError) throw error;
      throw new KnownServersError(
        `Cannot read ${path}: ${error instanceof Error ? error.message : error}`,
      );
    }
    const entries = new Map<string, KnownServer>();
    const lines = text.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim();
      if (line === "" || line.startsWith("#")) continue;
      const entry = _parseLine(line);
      if (entry === undefined) {
        throw new KnownServersError(
          `${path} line ${i + 1} is not "HOST:PORT SHA256:... [tls=PORT]", so the file cannot ` +
            `be trusted: fix or delete that line`,
        );
      }
      entries.set(entry.address, entry);
    }
    return new KnownServers(path, entries);
  }

  /**
   * The pin of an address.
   *
   * @param host the host
   * @param port the port
   * @returns the entry, or undefined when the address was never pinned
   */
  lookup(host: string, port: number): KnownServer | undefined {
    return this.#entries.get(addressKey(host, port));
  }

  /**
   * Pins an address (replacing its old line) and writes the file, 0600.
   *
   * @param entry the pin
   */
  pin(entry: KnownServer): void {
    this.#entries.set(entry.address, entry);
    this.#save();
  }

  /**
   * Forgets every pin of a host and port: the address itself, the TLS port it leads to, and any
   * plain port that leads to either.
   *
   * @param host the host
   * @param port the port
   * @returns the addresses forgotten
   */
  forget(host: string, port: number): string[] {
    const key = addressKey(host, port);
    const prefix = key.slice(0, key.lastIndexOf(":") + 1);
    const ports = new Set([port]);
    const leadsTo = this.#entries.get(key)?.tlsPort;
    if (leadsTo !== undefined) ports.add(leadsTo);
    const forgotten: string[] = [];
    for (const entry of [...this.#entries.values()]) {
      const samePort = [...ports].some((p) => entry.address === `${prefix}${p}`);
      const leads = entry.tlsPort !== undefined && ports.has(entry.tlsPort);
      if (entry.address.startsWith(prefix) && (samePort || leads)) {
        this.#entries.delete(entry.address);
        forgotten.push(entry.address);
      }
    }
    if (forgotten.length > 0) this.#save();
    return forgotten;
  }

  #save(): void {
    const dir = this.path.slice(0, this.path.lastIndexOf("/"));
    if (dir !== "") Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const lines = [
      "# Servers chat join has pinned: HOST:PORT FINGERPRINT [tls=PORT]",
      ...[...this.#entries.values()].map((e) =>
        `${e.address} ${e.fingerprint}${e.tlsPort === undefined ? "" : ` tls=${e.tlsPort}`}`
      ),
    ];
    // Written beside the file, then renamed over it, so a crash never leaves half a file.
    const temporary = `${this.path}.tmp-${Deno.pid}`;
    Deno.writeTextFileSync(temporary, lines.join("\n") + "\n", { mode: 0o600 });
    Deno.chmodSync(temporary, 0o600);
    Deno.renameSync(temporary, this.path);
  }
}

function _parseLine(line: string): KnownServer | undefined {
  const parts = line.split(/\s+/);
  if (parts.length < 2 || parts.length > 3) return undefined;
  const [address, fingerprint, extra] = parts as [string, string, string | undefined];
  if (!/^(\[[0-9a-f:.]+\]|[a-z0-9._-]+):\d{1,5}$/.test(address)) return undefined;
  if (!isFingerprint(fingerprint)) return undefined;
  if (extra === undefined) return { address, fingerprint };
  const match = /^tls=(\d{1,5})$/.exec(extra);
  if (match === null) return undefined;
  const tlsPort = Number(match[1]);
  if (tlsPort < 1 || tlsPort > 65535) return undefined;
  return { address, fingerprint, tlsPort };
}

/**
 * The client's config dir: `$XDG_CONFIG_HOME/chat`, else `$HOME/.config/chat`.
 *
 * @param env reads an environment variable
 * @returns the directory
 * @throws {Error} when neither variable is set
 */
export function configDir(env: (key: string) => string | undefined = _env): string {
  const xdg = env("XDG_CONFIG_HOME");
  if (xdg !== undefined && xdg.startsWith("/")) return `${xdg}/chat`;
  const home = env("HOME");
  if (home === undefined || home === "") {
    throw new Error("Neither XDG_CONFIG_HOME nor HOME is set, so chat join has no config dir");
  }
  return `${home}/.config/chat`;
}

function _env(key: string): string | undefined {
  try {
    return Deno.env.get(key);
  } catch {
    return undefined;
  }
}
