/**
 * The server's TLS certificate: the one given with `--tls-cert`/`--tls-key`, or a self-signed
 * ECDSA P-256 leaf generated on first start (with the machine's names and addresses) and kept in
 * the database, so its fingerprint, which clients pin, stays the same across restarts.
 *
 * Certificates are built by `server/certificate_generator.ts`, which this module loads only
 * when it has to make one: the library it uses (`@peculiar/x509` with its metadata polyfill)
 * adds about 17 MB of RSS to a process that loads it, and a server that already has its
 * certificate, or serves without TLS, has no use for it.
 *
 * @module
 */

import type { Database } from "../store/database.ts";
import { certificateFingerprint } from "../protocol/fingerprint.ts";

/** A PEM certificate with its key, and the fingerprint clients pin. */
export interface ServerCertificate {
  /** The certificate (chain), PEM. */
  readonly certPem: string;
  /** The private key, PEM. */
  readonly keyPem: string;
  /** `SHA256:` + base64 of the SHA-256 of the leaf's DER bytes. */
  readonly fingerprint: string;
  /** Where it came from, for the log and the banner. */
  readonly source: "generated" | "database" | "files";
}

/** The names a generated certificate is valid for. */
export interface CertificateNames {
  /** DNS names (`localhost`, the host name). */
  readonly dns: readonly string[];
  /** IP addresses. */
  readonly ips: readonly string[];
}

/**
 * The fingerprint of the first certificate of a PEM text.
 *
 * @param certPem a PEM certificate (chain)
 * @returns `SHA256:...`
 * @throws {SyntaxError} when the text holds no PEM certificate
 */
export async function pemFingerprint(certPem: string): Promise<string> {
  const block = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]*)-----END CERTIFICATE-----/
    .exec(certPem);
  if (block === null) throw new SyntaxError("The text holds no PEM certificate");
  let binary: string;
  try {
    binary = atob(block[1]!.replace(/\s+/g, ""));
  } catch {
    throw new SyntaxError("The text's PEM certificate is not valid base64");
  }
  // A DER certificate is an ASN.1 SEQUENCE: a first byte of 0x30.
  if (binary.charCodeAt(0) !== 0x30) {
    throw new SyntaxError("The text's PEM block is not a DER certificate");
  }
  return await certificateFingerprint(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}

/**
 * The names of this machine a generated certificate should carry: `localhost`, the host name,
 * loopback, and every interface's address.
 *
 * @returns the names
 */
export function machineNames(): CertificateNames {
  const dns = new Set<string>(["localhost"]);
  const ips = new Set<string>(["127.0.0.1", "::1"]);
  try {
    const host = Deno.hostname().trim();
    if (/^[A-Za-z0-9.-]+$/.test(host)) dns.add(host);
  } catch {
    // Without permission to read the host name, localhost and addresses must do.
  }
  try {
    for (const info of Deno.networkInterfaces()) {
      if (info.family === "IPv6" && info.address.toLowerCase().startsWith("fe80")) continue;
      ips.add(info.address);
    }
  } catch {
    // Without permission to list interfaces, loopback must do.
  }
  return { dns: [...dns], ips: [...ips] };
}

/**
 * The certificate to serve: read from the given files, else the one kept in the database, else
 * a new one generated now and kept there.
 *
 * @param database the server's database
 * @param files `--tls-cert` and `--tls-key`, when given
 * @param names the names for a generated certificate
 * @returns the certificate
 * @throws {Error} with a sentence naming the file when a given file cannot be read or holds no
 *   certificate
 */
export async function serverCertificate(
  database: Database,
  files: { readonly cert: string; readonly key: string } | undefined,
  names: CertificateNames = machineNames(),
): Promise<ServerCertificate> {
  if (files !== undefined) {
    const certPem = _readPem(files.cert, "--tls-cert");
    const keyPem = _readPem(files.key, "--tls-key");
    let fingerprint: string;
    try {
      fingerprint = await pemFingerprint(certPem);
    } catch {
      throw new Error(`The --tls-cert file ${files.cert} holds no PEM certificate`);
    }
    return { certPem, keyPem, fingerprint, source: "files" };
  }
  const kept = database.sql.prepare("SELECT cert_pem, key_pem FROM certificate WHERE id = 1")
    .get() as { cert_pem: string; key_pem: string } | undefined;
  if (kept !== undefined) {
    return {
      certPem: kept.cert_pem,
      keyPem: kept.key_pem,
      fingerprint: await pemFingerprint(kept.cert_pem),
      source: "database",
    };
  }
  const { generateCertificate } = await import("./certificate_generator.ts");
  const made = await generateCertificate(names);
  database.sql.prepare(
    "INSERT INTO certificate (id, cert_pem, key_pem, created_at) VALUES (1, ?, ?, ?)",
  ).run(made.certPem, made.keyPem, Date.now());
  return { ...made, fingerprint: await pemFingerprint(made.certPem), source: "generated" };
}

function _readPem(path: string, flag: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    throw new Error(
      `Cannot read the ${flag} file ${path}: ${error instanceof Error ? error.message : error}`,
    );
  }
}
