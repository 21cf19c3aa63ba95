/**
 * What an operator's command does: `/kick`, `/ban`, `/unban`, `/bans`, `/mute`, `/unmute`,
 * `/op` and `/deop`. The session has already checked that the member is an operator (the
 * command table marks these commands operator-only). Each action is recorded in the database
 * where it must outlive the server, told to the member it concerns and to the operator, and
 * logged as `mod` with who, what, whom and why.
 *
 * Names are looked up among this server's members; an address or a fingerprint may be banned
 * or unbanned whether or not anyone with it is online.
 *
 * @module
 */

import type { ModRequest } from "../core/commands.ts";
import { parseDuration } from "../protocol/duration.ts";
import { ProtocolError } from "../protocol/errors.ts";
import type { BanEntry, ModAction, ModNoticeEvent } from "../protocol/events.ts";
import { nameKey } from "../protocol/names.ts";
import { quote } from "../protocol/sanitize.ts";
import { type Ban, isFingerprint, readAddress } from "./moderation.ts";
import { banRefusal, type Session, type SessionHost } from "./session.ts";

/**
 * Carries out an operator's command.
 *
 * @param actor the operator's session
 * @param host the server
 * @param request the command
 * @returns why it was refused (`no_such_user`, `bad_target`, `bad_duration`), or undefined when
 *   done
 */
export function moderate(
  actor: Session,
  host: SessionHost,
  request: ModRequest,
): Promise<ProtocolError | undefined> {
  try {
    return Promise.resolve(_moderate(actor, host, request) ?? undefined);
  } catch (error) {
    return Promise.reject(error);
  }
}

function _moderate(actor: Session, host: SessionHost, request: ModRequest): ProtocolError | void {
  const moderation = host.trust.moderation;
  const by = actor.name ?? "?";
  const log = (action: ModAction, fields: Record<string, string | number | undefined>) => {
    const clean: Record<string, string | number> = {};
    for (const [key, value] of Object.entries(fields)) if (value !== undefined) clean[key] = value;
    host.log.info("mod", {
      by,
      ...(actor.fingerprint === undefined ? {} : { by_fingerprint: actor.fingerprint }),
      by_peer: actor.peer,
      action,
      ...clean,
    });
  };
  if (request.action === "bans") {
    const bans = moderation.bans().map(_entry);
    actor.notify({ type: "bans", bans });
    log("bans", { count: bans.length });
    return;
  }
  const typed = request.target;
  const found = host.chat.localMember(typed);
  const member = found?.member;
  const name = found?.name ?? typed;

  switch (request.action) {
    case "kick": {
      if (member === undefined) return _nobody(typed);
      const refused = _untouchable(actor, member, name, host, "kick");
      if (refused !== undefined) return refused;
      const event = _notice("kick", name, by, {}, request.reason);
      actor.notify(event);
      member.moderated(event, "kicked");
      log("kick", { target: name, target_peer: member.peer, reason: request.reason });
      return;
    }
    case "ban": {
      const until = _until(request.duration);
      if (until instanceof ProtocolError) return until;
      let ban: Ban;
      if (member !== undefined) {
        const refused = _untouchable(actor, member, name, host, "ban");
        if (refused !== undefined) return refused;
        ban = member.fingerprint !== undefined
          ? { target: member.fingerprint, kind: "identity", name, by }
          : { target: member.ip, kind: "address", name, by };
      } else if (isFingerprint(typed)) {
        if (typed === actor.fingerprint) return _badTarget("You cannot ban yourself");
        if (moderation.isOp(typed)) return _opTarget(typed, moderation.isConfigOp(typed));
        ban = { target: typed, kind: "identity", by };
      } else {
        const address = readAddress(typed);
        if (address === undefined) return _nobody(typed, true);
        ban = { target: address, kind: "address", by };
      }
      if (ban.kind === "address") {
        if (ban.target === actor.ip) {
          return _badTarget(
            `${
              member === undefined ? "That" : `${name} has no identity key, so a ban would be of ` +
                `their address, and that`
            } is your own address (${ban.target}): banning it would lock you out. Use /kick ` +
              `instead, or ban from another address`,
          );
        }
        for (const other of host.sessions()) {
          if (other.ip === ban.target && other.isOp) {
            return _badTarget(
              `An operator (${other.name ?? other.peer}) connects from ${ban.target}: ` +
                `/deop them first, or ban by name someone with an identity`,
            );
          }
        }
      }
      ban = {
        ...ban,
        ...(until === undefined ? {} : { until: until.at }),
        ...(request.reason === undefined ? {} : { reason: request.reason }),
      };
      moderation.ban(ban);
      const event = _notice("ban", ban.name ?? ban.target, by, until ?? {}, request.reason);
      actor.notify(event);
      // Everyone the ban covers goes now: that identity, or every non-operator at that address.
      for (const other of [...host.sessions()]) {
        const covered = ban.kind === "identity"
          ? other.fingerprint === ban.target
          : other.ip === ban.target && !other.isOp;
        if (!covered || other === actor) continue;
        if (other.name === undefined) {
          other.close("banned", {
            notice: { type: "error", code: "banned", message: banRefusal(ban).message },
          });
        } else {
          other.moderated({ ...event, target: other.name }, "banned");
        }
      }
      log("ban", {
        target: ban.target,
        kind: ban.kind,
        name: ban.name,
        duration: request.duration,
        reason: request.reason,
      });
      return;
    }
    case "unban": {
      let target = isFingerprint(typed) ? typed : readAddress(typed);
      if (target === undefined) {
        // A name: the ban made under it, or the identity or address of the member called so.
        const key = nameKey(typed);
        target = moderation.bans().find((ban) =>
          ban.name !== undefined && nameKey(ban.name) === key
        )
          ?.target ?? member?.fingerprint ?? member?.ip;
      }
      const lifted = target === undefined ? undefined : moderation.unban(target);
      if (lifted === undefined) {
        return _badTarget(`No ban of ${quote(typed)} is in force: /bans lists them`);
      }
      actor.notify(_notice("unban", lifted.target, by, {}));
      log("unban", { target: lifted.target, name: lifted.name });
      return;
    }
    case "mute":
    case "unmute": {
      if (member === undefined) return _nobody(typed);
      const refused = _untouchable(actor, member, name, host, request.action);
      if (refused !== undefined) return refused;
      const key = member.fingerprint ?? member.ip;
      let event: ModNoticeEvent;
      if (request.action === "mute") {
        const until = _until(request.duration);
        if (until instanceof ProtocolError) return until;
        const mute = { target: key, by, ...(until === undefined ? {} : { until: until.at }) };
        moderation.mute(mute);
        member.setMute(mute);
        event = _notice("mute", name, by, until ?? {});
      } else {
        if (!moderation.unmute(key)) return _badTarget(`${name} is not muted`);
        member.setMute(undefined);
        event = _notice("unmute", name, by, {});
      }
      actor.notify(event);
      member.moderated(event);
      log(request.action, { target: name, key, duration: event.duration });
      return;
    }
    case "op":
    case "deop": {
      if (member === undefined) return _nobody(typed);
      const fingerprint = member.fingerprint;
      if (fingerprint === undefined) {
        return _badTarget(
          `${name} joined without an identity key: operators are identities, never names ` +
            `(they can join with 'chat join', which proves one)`,
        );
      }
      if (request.action === "op") {
        if (moderation.isOp(fingerprint)) return _badTarget(`${name} is already an operator`);
        moderation.addOp(fingerprint, by);
      } else {
        if (moderation.isConfigOp(fingerprint)) {
          return _badTarget(
            `${name} is an operator by --op on the server's command line: only a restart ` +
              `without it takes that away`,
          );
        }
        if (!moderation.removeOp(fingerprint)) return _badTarget(`${name} is not an operator`);
      }
      const event = _notice(request.action, name, by, {});
      actor.notify(event);
      if (member !== actor) member.moderated(event);
      log(request.action, { target: name, fingerprint });
      return;
    }
  }
}

/** Refuses an action on oneself (but `/unmute` and `/op` of oneself are harmless) or an op. */
function _untouchable(
  actor: Session,
  member: Session,
  name: string,
  host: SessionHost,
  action: "kick" | "ban" | "mute" | "unmute",
): ProtocolError | undefined {
  if (member === actor) {
    return _badTarget(
      action === "kick"
        ? "You cannot kick yourself: /quit leaves"
        : `You cannot ${action} yourself`,
    );
  }
  if (member.isOp) {
    return _opTarget(name, host.trust.moderation.isConfigOp(member.fingerprint ?? ""));
  }
  return undefined;
}

function _opTarget(name: string, byConfig: boolean): ProtocolError {
  return _badTarget(
    byConfig
      ? `${name} is an operator (by --op on the server's command line): operators cannot be ` +
        `kicked, banned or muted`
      : `${name} is an operator: /deop them first`,
  );
}

function _badTarget(message: string): ProtocolError {
  return new ProtocolError("bad_target", message);
}

function _nobody(typed: string, orAddress = false): ProtocolError {
  return new ProtocolError(
    "no_such_user",
    orAddress
      ? `Nobody called ${quote(typed)} is here, and it is not an address or a fingerprint: try /who`
      : `Nobody called ${quote(typed)} is here: try /who`,
  );
}

/** Reads a duration: when it ends, or undefined for "until lifted". */
function _until(
  duration: string | undefined,
): ProtocolError | { at: number; duration: string } | undefined {
  if (duration === undefined) return undefined;
  const ms = parseDuration(duration);
  if (ms instanceof ProtocolError) return ms;
  return { at: Date.now() + ms, duration: duration.trim() };
}

function _notice(
  action: ModAction,
  target: string,
  by: string,
  until: { at?: number; duration?: string },
  reason?: string,
): ModNoticeEvent {
  return {
    type: "mod",
    action,
    target,
    by,
    ts: new Date().toISOString(),
    ...(until.duration === undefined ? {} : { duration: until.duration }),
    ...(until.at === undefined ? {} : { until: new Date(until.at).toISOString() }),
    ...(reason === undefined ? {} : { reason }),
  };
}

function _entry(ban: Ban): BanEntry {
  return {
    target: ban.target,
    kind: ban.kind,
    ...(ban.name === undefined ? {} : { name: ban.name }),
    by: ban.by,
    ...(ban.until === undefined ? {} : { until: new Date(ban.until).toISOString() }),
    ...(ban.reason === undefined ? {} : { reason: ban.reason }),
  };
}
