/**
 * A TLS connection as a session sees it, with the one thing Deno gets wrong handled.
 *
 * Deno 2.9 cannot close a TLS connection whose handshake is still waiting for the peer: `close()`
 * interrupts the handshake, but the socket stays open until the peer sends something or goes
 * away. So a client that stops mid-handshake would keep a descriptor after its session ended at
 * the handshake deadline, and nothing would count it. Here such a connection is not "closed" in
 * name only: it stays open, and counted (see `released`), with its read still pending, until the
 * peer's next move settles that read; then it is really closed.
 *
 * @module
 */

/**
 * A TLS connection whose socket is released only when it really is.
 */
export class GuardedTlsConn {
  /** The peer's address. */
  readonly remoteAddr: Deno.Addr;
  /** Resolves once the socket is really closed. */
  readonly released: Promise<void>;
  #conn: Deno.TlsConn;
  #handshaken = false;
  #abandoned = false;
  #closed = false;
  /** True once a read has ended the stream (EOF or an error, a failed handshake included). */
  #readEnded = false;
  #release!: () => void;

  /** @param conn the accepted TLS connection */
  constructor(conn: Deno.TlsConn) {
    this.#conn = conn;
    this.remoteAddr = conn.remoteAddr;
    this.released = new Promise((resolve) => this.#release = resolve);
    conn.handshake().then(() => this.#handshaken = true, () => {});
  }

  /** True once the handshake has finished. */
  get handshaken(): boolean {
    return this.#handshaken;
  }

  /**
   * Reads decrypted bytes (driving the handshake first).
   *
   * @param buffer where to put them
   * @returns how many, or null at the end of the stream
   */
  async read(buffer: Uint8Array): Promise<number | null> {
    try {
      const count = await this.#conn.read(buffer);
      if (this.#abandoned) {
        // The peer moved: the handshake finished or the stream ended. Now close() works.
        this.#closeNow();
        return null;
      }
      if (count === null) this.#readEnded = true;
      return count;
    } catch (error) {
      this.#readEnded = true;
      if (this.#abandoned) {
        this.#closeNow();
        return null;
      }
      throw error;
    }
  }

  /**
   * Writes bytes.
   *
   * @param bytes what to send
   * @returns how many were written
   */
  write(bytes: Uint8Array): Promise<number> {
    return this.#conn.write(bytes);
  }

  /** Ends the sending side; nothing to end before the handshake (nothing was sent). */
  async closeWrite(): Promise<void> {
    if (!this.#handshaken) return;
    await this.#conn.closeWrite();
  }

  /**
   * Closes the connection. Before the handshake has finished, the socket is left to the pending
   * read, which closes it as soon as the peer sends or goes (see the module doc).
   */
  close(): void {
    if (this.#closed || this.#abandoned) return;
    if (!this.#handshaken && !this.#readEnded) {
      this.#abandoned = true;
      return;
    }
    this.#closeNow();
  }

  #closeNow(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
    this.#release();
  }
}
