/**
 * The JavaScript side of a join storm: members join one room in batches of 50 (as the load
 * generators stage their connects), each batch's joins started in one turn, then the room's
 * fan-out ticks run. No sockets: a member's "write" only counts bytes, so this is the chat
 * core's and the delivery's own cost, what `--cpu-prof` shows of a storm without the write calls.
 * Each iteration checks that every member was told of every later joiner: with one notice per
 * name (`--summary-members 0`) at least the bytes of all n(n-1)/2 notices, with the default
 * summaries of a large room at least each name's bytes in them.
 *
 * ```sh
 * deno bench --allow-all server/join_storm_bench.ts
 * ```
 */
import { Chat } from "../core/chat.ts";
import { InProcessBroker } from "../core/in_process_broker.ts";
import { type DeliveryMember, NodeDelivery } from "./delivery.ts";
import { DEFAULT_SUMMARY_MEMBERS } from "./fanout.ts";

const BATCH = 50;

/** How the joins are told: a notice per name, or the default summaries of a large room. */
type Notices = "per name" | "summaries";

async function storm(members: number, notices: Notices): Promise<void> {
  const ticks: (() => void)[] = [];
  const delivery = new NodeDelivery({
    summaryMembers: notices === "per name" ? 0 : DEFAULT_SUMMARY_MEMBERS,
    schedule: (tick) => ticks.push(tick),
    cpuNow: () => 0,
    monotonicNow: () => 0,
  });
  const chat = new Chat<DeliveryMember>({
    broker: InProcessBroker.create({ keepMessages: 50 }),
    historySize: 50,
    maxRooms: 10,
    serverName: "bench",
    limits: {
      maxMessageBytes: 4096,
      rateBurst: 10,
      ratePerSecond: 5,
      pingIntervalSeconds: 30,
      idleTimeoutSeconds: 75,
    },
  }, delivery);
  let bytes = 0;
  for (let first = 0; first < members; first += BATCH) {
    const joins: Promise<unknown>[] = [];
    for (let i = first; i < Math.min(members, first + BATCH); i++) {
      const member: DeliveryMember = {
        ref: chat.newRef(),
        active: true,
        style: "json",
        name: `user${i}`,
        // Where the core has it, as a session asks the core.
        get room() {
          return chat.roomOf(member);
        },
        deliver: (part) => bytes += part.length,
      };
      joins.push(chat.join(member, `user${i}`));
    }
    await Promise.all(joins);
    while (ticks.length > 0) ticks.shift()!();
  }
  // n(n-1)/2 join notices of more than 60 bytes each (a 64-byte header alone); in summaries,
  // each of those names as `"userN",` (8 bytes at least). The welcomes come on top.
  const least = members * (members - 1) / 2 * (notices === "per name" ? 60 : 8);
  if (bytes < least) throw new Error(`Only ${bytes} bytes were handed out, expected ${least}+`);
  await chat.close();
}

for (const notices of ["summaries", "per name"] as const) {
  for (const members of [1000, 5000]) {
    Deno.bench(`${members} members join one room, ${BATCH} at a time, ${notices}`, {
      group: `join storm, ${notices}`,
      n: members > 1000 ? 3 : 10,
      warmup: 1,
    }, async () => {
      await storm(members, notices);
    });
  }
}
