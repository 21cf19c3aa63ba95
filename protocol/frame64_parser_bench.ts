/**
 * Decoder throughput: 1 MiB of frames with 64-byte bodies per iteration, delivered in chunks of
 * 1 byte, 100 bytes and 64 KiB. MB/s = 1 MiB / the reported time per iteration.
 */
import { encodeFrame } from "./frame64.ts";
import { Frame64Parser } from "./frame64_parser.ts";
import { Frame64DecoderStream } from "./streams.ts";

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

// What a Web Streams stage would cost the server, which reads each connection into a buffer and
// usually finds one small frame in it: 1000 reads of one frame with a 100-byte body, parsed by
// the push parser directly, and through `Frame64DecoderStream` (a write and a read per chunk).
const oneFrame = encodeFrame(new TextEncoder().encode("y".repeat(100)));
Deno.bench("1000 reads of one frame: push parser", { group: "per read", baseline: true }, () => {
  let count = 0;
  const parser = new Frame64Parser(() => count++, { maxBodyBytes: 4096 });
  for (let i = 0; i < 1000; i++) parser.push(oneFrame);
  if (count !== 1000) throw new Error(`Decoded ${count} of 1000 frames`);
});
Deno.bench("1000 reads of one frame: Frame64DecoderStream", { group: "per read" }, async () => {
  const stream = new Frame64DecoderStream({ maxBodyBytes: 4096 });
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  let count = 0;
  for (let i = 0; i < 1000; i++) {
    void writer.write(oneFrame);
    const { value } = await reader.read();
    count += value?.length ?? 0;
  }
  if (count !== 1000) throw new Error(`Decoded ${count} of 1000 frames`);
});
