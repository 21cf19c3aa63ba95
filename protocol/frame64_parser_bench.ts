/**
 * Decoder throughput: 1 MiB of frames with 64-byte bodies per iteration, delivered in chunks of
 * 1 byte, 100 bytes and 64 KiB. MB/s = 1 MiB / the reported time per iteration.
 */
import { encodeFrame } from "./frame64.ts";
import { Frame64Parser } from "./frame64_parser.ts";

const frame = encodeFrame(new TextEncoder().encode("x".repeat(64)));
const frames = Math.floor((1024 * 1024) / frame.length);
const input = new Uint8Array(frames * frame.length);
for (let i = 0; i < frames; i++) input.set(frame, i * frame.length);

function chunked(size: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let offset = 0; offset < input.length; offset += size) {
    chunks.push(input.subarray(offset, offset + size));
  }
  return chunks;
}

for (const size of [1, 100, 64 * 1024]) {
  const chunks = chunked(size);
  Deno.bench(`decode 1 MiB of 64-byte-body frames in ${size}-byte chunks`, {
    group: "frame64",
    ...(size === 1 ? { n: 10 } : {}),
  }, () => {
    let count = 0;
    const parser = new Frame64Parser(() => count++, { maxBodyBytes: 4096 });
    for (const chunk of chunks) parser.push(chunk);
    if (count !== frames) throw new Error(`Decoded ${count} of ${frames} frames`);
  });
}
