/**
 * A scripted stand-in for a chat server, for client tests that need exact events (ids, times)
 * a real server would not produce on demand.
 *
 * @module
 */

import { encodeTextFrame } from "../../protocol/frame64.ts";

/**
 * A scripted stand-in for a chat server: to each connection, once its first bytes (the hello)
 * arrive, it sends the given events as frame64 JSON, then reads until the client hangs up.
 *
 * @param events the events every connection is sent, in order
 * @returns its port, and how to close it
 */
export function scriptedServer(
  events: readonly object[],
): { port: number; close(): Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const served = (async () => {
    for await (const conn of listener) {
      conns.push(conn);
      void (async () => {
        const reader = conn.readable.getReader();
        try {
          await reader.read();
          const frames = events.map((event) => encodeTextFrame(JSON.stringify(event)));
          await conn.write(concatBytes(frames));
          while (!(await reader.read()).done) {
            // The client's pings and its goodbye need no answer here.
          }
        } catch {
          // The client went away.
        }
      })();
    }
  })().catch(() => {});
  return {
    port: listener.addr.port,
    async close() {
      listener.close();
      for (const conn of conns) {
        try {
          conn.close();
        } catch {
          // Already closed.
        }
      }
      await served;
    },
  };
}

function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
