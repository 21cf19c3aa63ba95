/**
 * How `chat join` reaches a server: TLS by default, the certificate checked against the pin in
 * `known_servers` (or `--fingerprint`), pinned on first use; plain TCP only with `--plain`, or for
 * a server that has never been pinned and does not speak TLS, and then marked as not encrypted.
 * A pinned server is never downgraded: a changed certificate, or a pinned address that stops
 * answering TLS, stops the client with a sentence saying what happened.
 *
 * The certificate of a chat server is usually self-signed, so it is checked by its fingerprint
 * (the pin), not against certificate authorities; nothing is sent before that check passes.
 *
 * @module
 */

import net from "node:net";
import tls from "node:tls";
import { Duplex } from "node:stream";
import { fingerprintFromHex } from "../protocol/fingerprint.ts";
import { ConnectError, type ConnectFailure, formatAddress, type Transport } from "./connection.ts";
import { addressKey, type KnownServers } from "./known_servers.ts";

/** How the client is told to connect. */
export interface TrustSettings {
  /** `tls` (the default) or `plain` (`--plain`). */
  readonly mode: "tls" | "plain";
  /** A fingerprint given with `--fingerprint`: the certificate must have it. */
  readonly pin?: string;
  /** The pins. */
  readonly known: KnownServers;
}

/** What a connection turned out to be, for the screen. */
export interface Security {
  /** True over TLS. */
  readonly encrypted: boolean;
  /** The address connected to. */
  readonly address: string;
  /** The certificate's fingerprint, over TLS. */
  readonly fingerprint?: string;
  /** True when this certificate was pinned just now (first contact): show it once. */
  readonly firstContact?: boolean;
  /**
   * Over plain TCP: true when the server may still move the client to TLS (`hello.tls`), since
   * the address was never pinned and TLS failed; false with `--plain`.
   */
  readonly askTls?: boolean;
}

/** The certificate or the TLS of a pinned server is not what it was: do not connect. */
export class TrustError extends ConnectError {
  /**
   * @param address the address
   * @param message the whole sentence to show
   */
  constructor(address: string, message: string) {
    super(address, "other", message);
    this.message = message;
    this.name = "TrustError";
  }
}

/** A pinned TLS port does not answer: said plainly, and retried by a reconnecting client. */
export class TlsUnreachableError extends ConnectError {
  /**
   * @param address the TLS address
   * @param failure why the connection failed
   * @param message the whole sentence to show
   */
  constructor(address: string, failure: ConnectFailure, message: string) {
    super(address, failure, message);
    this.message = message;
    this.name = "TlsUnreachableError";
  }
}

/**
 * Connects as the settings say.
 *
 * @param host the server's host
 * @param port the port to connect to
 * @param settings TLS or plain, the pins
 * @param via the plain port the server moved the client from (`use_tls`), if it did
 * @returns the transport and what it is
 * @throws {ConnectError} when the server cannot be reached
 * @throws {TrustError} when the certificate does not match the pin, or a pinned server does not
 *   speak TLS any more
 */
export async function dialSecurely(
  host: string,
  port: number,
  settings: TrustSettings,
  via?: number,
): Promise<{ transport: Transport; security: Security }> {
  const address = formatAddress(host, port);
  if (settings.mode === "plain") {
    const socket = await _tcp(host, port);
    return { transport: _transport(socket), security: { encrypted: false, address } };
  }
  const known = settings.known.lookup(host, port);
  const pin = settings.pin ?? known?.fingerprint;
  const tlsPort = known?.tlsPort ?? port;
  const tlsAddress = formatAddress(host, tlsPort);
  let socket: net.Socket;
  try {
    socket = await _tcp(host, tlsPort);
  } catch (error) {
    if (known?.tlsPort !== undefined && error instanceof ConnectError) {
      // The plain port typed led to this TLS port before: never fall back to the plain one. Not
      // a TrustError: a server that is restarting refuses too, and reconnecting may retry.
      throw new TlsUnreachableError(
        tlsAddress,
        error.failure,
        `${address} moved this client to TLS on ${tlsAddress} before (certificate ${pin}), but ` +
          `that port does not answer now (${error.reason}). Refusing to fall back to an ` +
          `unencrypted chat. If the server really dropped TLS, forget the pin with: chat join ` +
          `${address} --forget`,
      );
    }
    throw error;
  }
  let secure: tls.TLSSocket;
  try {
    secure = await _handshake(socket, host);
  } catch (error) {
    socket.destroy();
    if (pin !== undefined) {
      throw new TrustError(
        tlsAddress,
        `${tlsAddress} was pinned with TLS certificate ${pin}, but it does not speak TLS now ` +
          `(${_reason(error)}). Refusing to fall back to an unencrypted chat. If the server ` +
          `really changed, forget the pin with: chat join ${formatAddress(host, port)} --forget`,
      );
    }
    // Never pinned: it may be a plain port (ask it for TLS in hello) or a server without TLS.
    const plain = await _tcp(host, port);
    return {
      transport: _transport(plain),
      security: { encrypted: false, address, askTls: true },
    };
  }
  const fingerprint = fingerprintFromHex(secure.getPeerCertificate().fingerprint256 ?? "");
  if (fingerprint === undefined) {
    secure.destroy();
    throw new TrustError(tlsAddress, `${tlsAddress} sent no usable TLS certificate: not joining`);
  }
  if (pin !== undefined && pin !== fingerprint) {
    secure.destroy();
    const source = settings.pin !== undefined ? "--fingerprint" : settings.known.path;
    throw new TrustError(
      tlsAddress,
      `The TLS certificate of ${tlsAddress} has CHANGED: it is ${fingerprint}, but ${source} ` +
        `says ${pin}. Someone may be intercepting the connection, or the server got a new ` +
        `certificate. Ask its operator which fingerprint it prints; if the new one is right, ` +
        `forget the old pin with: chat join ${formatAddress(host, via ?? port)} --forget`,
    );
  }
  const firstContact = known === undefined;
  if (firstContact || known.fingerprint !== fingerprint) {
    settings.known.pin({ address: addressKey(host, tlsPort), fingerprint });
  }
  if (via !== undefined && settings.known.lookup(host, via)?.tlsPort !== tlsPort) {
    // The plain port typed leads here: next time go straight to TLS, and never downgrade.
    settings.known.pin({ address: addressKey(host, via), fingerprint, tlsPort });
  }
  return {
    transport: _transport(secure),
    security: {
      encrypted: true,
      address: tlsAddress,
      fingerprint,
      firstContact: firstContact && settings.pin === undefined,
    },
  };
}

/** Opens TCP, with the client's usual socket options; failures become {@linkcode ConnectError}. */
function _tcp(host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.setNoDelay(true);
    socket.setKeepAlive(true);
    const fail = (error: Error & { code?: string }) => {
      socket.destroy();
      reject(new ConnectError(formatAddress(host, port), _failure(error), error.message));
    };
    socket.once("error", fail);
    socket.once("connect", () => {
      socket.off("error", fail);
      resolve(socket);
    });
  });
}

/** The TLS handshake over an open socket; the certificate is checked by the caller (the pin). */
function _handshake(socket: net.Socket, host: string): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const secure = tls.connect({
      socket,
      rejectUnauthorized: false,
      ...(net.isIP(host) === 0 ? { servername: host } : {}),
    });
    const fail = (error?: Error) => reject(error ?? new Error("the connection was closed"));
    secure.once("error", fail);
    secure.once("close", () => fail());
    secure.once("secureConnect", () => {
      secure.off("error", fail);
      secure.removeAllListeners("close");
      resolve(secure);
    });
  });
}

function _transport(socket: net.Socket): Transport {
  const { readable, writable } = Duplex.toWeb(socket);
  return {
    readable: readable as ReadableStream<Uint8Array>,
    writable: writable as WritableStream<Uint8Array>,
    close: () => socket.destroy(),
  };
}

function _failure(error: Error & { code?: string }): ConnectFailure {
  switch (error.code) {
    case "ECONNREFUSED":
      return "refused";
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EAI_NONAME":
      return "unknown_host";
    case "ETIMEDOUT":
      return "timeout";
    case "ENETUNREACH":
    case "EHOSTUNREACH":
      return "unreachable";
    default:
      return "other";
  }
}

function _reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * What to tell the user about a connection: the fingerprint on first contact, and a warning for
 * anything not encrypted. Nothing for a TLS connection whose certificate matched its pin.
 *
 * @param security the connection
 * @param knownServersPath where the pin was written
 * @returns the sentence, and whether it is a warning; undefined when there is nothing to say
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { securityNotice } from "./secure_dial.ts";
 * const notice = securityNotice({ encrypted: false, address: "10.0.0.2:5050" }, "/k");
 * assert.ok(notice?.warning && notice.text.startsWith("Not encrypted"));
 * ```
 */
export function securityNotice(
  security: Security,
  knownServersPath: string,
): { readonly text: string; readonly warning: boolean } | undefined {
  if (security.encrypted) {
    if (security.firstContact !== true) return undefined;
    return {
      text: `First contact with ${security.address}: its TLS certificate is ` +
        `${security.fingerprint}. Pinned in ${knownServersPath}; check it matches the ` +
        `fingerprint the server printed at start`,
      warning: false,
    };
  }
  return {
    text: security.askTls === true
      ? `Not encrypted: ${security.address} does not speak TLS, so anyone on the network can ` +
        `read this chat`
      : `Not encrypted (--plain): anyone on the network can read this chat`,
    warning: true,
  };
}
