/**
 * The start-up banner of `chat serve`: the version, where the server can be joined, and the
 * exact command to run on another machine.
 *
 * @module
 */

import { detectInvocation, type Invocation, runnable } from "../flags/invocation.ts";
import { DEFAULT_PORT } from "../protocol/events.ts";

/** One address the server can be reached at. */
export interface JoinAddress {
  /** The IP address. */
  readonly address: string;
  /** True for loopback (this machine only). */
  readonly loopback: boolean;
}

/**
 * The addresses a server bound to `host` can be joined at: the machine's LAN addresses first,
 * loopback last. A server bound to one address is reachable only there.
 *
 * @param host the address the server listens on
 * @param interfaces the machine's interfaces (`Deno.networkInterfaces()`)
 * @returns the addresses, best first
 */
export function joinAddresses(
  host: string,
  interfaces: readonly Deno.NetworkInterfaceInfo[],
): JoinAddress[] {
  const all = host === "::" || host === "0.0.0.0";
  if (!all) return [{ address: host, loopback: host === "::1" || host.startsWith("127.") }];
  const seen = new Set<string>();
  const found: JoinAddress[] = [];
  for (const info of interfaces) {
    if (host === "0.0.0.0" && info.family !== "IPv4") continue;
    // Link-local IPv6 addresses need a zone to be usable; leave them out.
    if (info.family === "IPv6" && info.address.toLowerCase().startsWith("fe80")) continue;
    if (seen.has(info.address)) continue;
    seen.add(info.address);
    const loopback = info.address === "::1" || info.address.startsWith("127.");
    found.push({ address: info.address, loopback });
  }
  // IPv4 before IPv6 (easier to type), LAN before loopback.
  const rank = (a: JoinAddress) => (a.loopback ? 2 : 0) + (a.address.includes(":") ? 1 : 0);
  return found.sort((a, b) => rank(a) - rank(b));
}

/**
 * The `chat join` argument for an address and port.
 *
 * @param address an IP address or host name
 * @param port the port
 * @returns e.g. `192.168.1.23`, `192.168.1.23:6000` or `[::1]:6000`
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { joinTarget } from "./banner.ts";
 * assert.ok(joinTarget("::1", 6000) === "[::1]:6000");
 * assert.ok(joinTarget("10.0.0.2", 5050) === "10.0.0.2");
 * ```
 */
export function joinTarget(address: string, port: number): string {
  const host = address.includes(":") ? `[${address}]` : address;
  if (port === DEFAULT_PORT) return address.includes(":") ? host : address;
  return `${host}:${port}`;
}

/** The TLS side of the banner. */
export interface BannerTls {
  /** The TLS port. */
  readonly port: number;
  /** The certificate's fingerprint, which `chat join --fingerprint` pins up front. */
  readonly fingerprint: string;
}

/**
 * The banner's lines. The first line always reads `chat v<version> listening on port <port>`.
 * With TLS, the join command is for the TLS port and pins the certificate up front, so what a
 * user copies from the banner is encrypted from the first byte.
 *
 * @param version the program version
 * @param port the bound plain port
 * @param addresses where it can be joined, best first
 * @param invocation how the server was started, which decides how the join command is written
 *   (`chat join ...` for the executable, `deno task join ...` in a checkout); detected by default
 * @param tls the TLS port and certificate fingerprint, when TLS is on
 * @returns the lines to print
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bannerLines } from "./banner.ts";
 * const lines = bannerLines("1.0.0", 5050, [{ address: "10.0.0.2", loopback: false }], {
 *   kind: "binary",
 *   name: "chat",
 * }, { port: 5051, fingerprint: "SHA256:abc" });
 * assert.ok(lines.some((l) => l.endsWith("chat join 10.0.0.2:5051 --fingerprint SHA256:abc")));
 * ```
 */
export function bannerLines(
  version: string,
  port: number,
  addresses: readonly JoinAddress[],
  invocation: Invocation = detectInvocation(),
  tls?: BannerTls,
): string[] {
  const lan = addresses.filter((a) => !a.loopback);
  const lines = [`chat v${version} listening on port ${port}`];
  if (tls !== undefined) {
    lines.push(`TLS on port ${tls.port}, certificate ${tls.fingerprint}`);
  } else {
    lines.push("TLS is off (--no-tls): chat on this server is not encrypted");
  }
  const joinPort = tls?.port ?? port;
  const pin = tls === undefined ? "" : ` --fingerprint ${tls.fingerprint}`;
  const best = lan[0] ?? addresses[0];
  if (best !== undefined) {
    lines.push(
      `Join from ${best.loopback ? "this machine" : "another machine"} with:  ${
        runnable(`join ${joinTarget(best.address, joinPort)}${pin}`, invocation)
      }`,
    );
  }
  if (addresses.length > 0) {
    lines.push(
      `Addresses: ${
        addresses.map((a) =>
          `${joinTarget(a.address, joinPort)}${a.loopback ? " (this machine)" : ""}`
        ).join(", ")
      }`,
    );
  }
  if (tls !== undefined) {
    lines.push(`Plain-text clients (nc, classic socket chat) use port ${port}, not encrypted.`);
  }
  lines.push("Press Ctrl-C to stop.");
  return lines;
}
