/**
 * What the cluster tests share: a test that is skipped, saying why, when `redis-server` cannot
 * run here, and a `chat serve --redis` node of a test cluster.
 *
 * @module
 */

import { ServeProcess } from "./net.ts";
import { REDIS_AVAILABLE, REDIS_SKIP_REASON, type RedisServer } from "./redis_server.ts";

/**
 * A node timeout short enough for tests, long enough that a node of a loaded machine (tests
 * run in parallel on two cores) is not taken for lost while it is merely slow (seconds).
 */
export const TEST_NODE_TIMEOUT = "3";

/**
 * Declares a cluster test, named `cluster: NAME`; it is skipped, with the reason in its name,
 * when Redis cannot run here or `skip` gives another reason.
 *
 * @param name what the test shows
 * @param fn the test
 * @param skip why it cannot run here, if it cannot
 */
export function clusterTest(
  name: string,
  fn: () => Promise<void>,
  skip: string | undefined = REDIS_AVAILABLE ? undefined : REDIS_SKIP_REASON,
): void {
  Deno.test({
    name: skip === undefined ? `cluster: ${name}` : `cluster: ${name} (${skip})`,
    ignore: skip !== undefined,
    // ioredis keeps timers of its own for a moment after quitting.
    sanitizeOps: false,
    sanitizeResources: false,
    fn,
  });
}

/**
 * Starts a node of a test cluster on `redis`, with flood control off.
 *
 * @param redis the Redis server
 * @param cluster the cluster's name
 * @param args more flags of `chat serve`
 * @returns the running node
 */
export function startNode(
  redis: RedisServer,
  cluster: string,
  ...args: string[]
): Promise<ServeProcess> {
  return ServeProcess.start([
    "--redis",
    redis.url,
    "--cluster",
    cluster,
    "--node-timeout",
    TEST_NODE_TIMEOUT,
    "--rate-per-second",
    "0",
    ...args,
  ]);
}
