/**
 * The chat server: the listener, a session per connection (connection, inbound side, session),
 * and the delivery that hands the chat core's events to the connections. The core itself (rooms,
 * names, commands, the broker) is in `core/`. Start a server with {@linkcode startServer}.
 *
 * @module
 */

export { ChatServer, isLoopback, normaliseIp, startServer } from "./chat_server.ts";
export type { StartOptions } from "./chat_server.ts";
export { DEFAULT_SERVE_CONFIG, parseServeArgs } from "./config.ts";
export type { ServeConfig } from "./config.ts";
export { createLogger, SILENT_LOGGER } from "./log.ts";
export type { Logger, LoggerOptions } from "./log.ts";
export { Chat } from "../core/chat.ts";
export { NodeDelivery } from "./delivery.ts";
export { runServe } from "./serve.ts";
