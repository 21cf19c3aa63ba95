/**
 * The chat server: a room that knows nothing of sockets, a session per connection, the command
 * registry and the listener. Start one with {@linkcode startServer}.
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
