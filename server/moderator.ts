/**
 * What an operator's command does: `/kick`, `/ban`, `/unban`, `/bans`, `/mute`, `/unmute`,
 * `/op` and `/deop`. The session has already checked that the member is an operator (the
 * command table marks these commands operator-only). Each action is kept where it must outlive
 * the server (the database, or the cluster's Redis), told to the member it concerns and to the
 * operator, and logged as `mod` with who, what, whom and why.
 *
 * Names are looked up among this server's members, then (in a cluster) among those of the other
 * nodes: an act on a member of another node is announced to every node, and the member's node
 * carries it out (a ban disconnects whoever it covers on every node). An address or a
 * fingerprint may be banned or unbanned whether or not anyone with it is online.
 *
 * @module
 */

import type { ModRequest } from "../core/commands.ts";
import { parseDuration } from "../protocol/duration.ts";
import { ProtocolError } from "../protocol/errors.ts";
import type { BanEntry, ModAction, ModNoticeEvent } from "../protocol/events.ts";
import { nameKey } from "../protocol/names.ts";
import { quote } from "../protocol/sanitize.ts";
import { type Ban, isFingerprint, type ModerationAct, readAddress } from "./moderation.ts";
import { banRefusal, type Session, type SessionHost } from "./session.ts";

/** Whom a command names: a member of this node, or (in a cluster) of another. */
interface _Target {
  readonly name: string;
  readonly fingerprint: string | undefined;
  readonly ip: string;
  readonly isOp: boolean;
  /** Its session, when it is connected to this node. */
  readonly session: Session | undefined;
  /** `NODE/ID`, wherever it is connected. */
  readonly member: string;
}

/**
 * A session's member key, `NODE/ID`, as the cluster's member directory and acts name it.
 *
 * @param session a session
 * @returns its key
 */
export function memberKeyOf(session: Session): string {
  return `${session.ref.node}/${session.ref.id}`;
}

/** Finds the member a command names: here first, then on the other nodes of a cluster. */
async function _find(host: SessionHost, typed: string): Promise<_Target | undefined> {
  const found = host.chat.localMember(typed);
  if (found !== undefined) {
    const session = found.member;
    return {
      name: found.name,
      fingerprint: session.fingerprint,
      ip: session.ip,
      isOp: session.isOp,
      session,
      member: memberKeyOf(session),
    };
  }
  const remote = await host.trust.members?.lookup(typed);
  if (remote === undefined) return undefined;
  return {
    name: remote.name,
    fingerprint: remote.fingerprint,
    ip: remote.ip,
    isOp: host.trust.moderation.isOp(remote.fingerprint),
    session: undefined,
    member: remote.member,
  };
}

/**
 * Carries out an operator's command.
 *
 * @param actor the operator's session
 * @param host the server
 * @param request the command
 * @returns why it was refused (`no_such_user`, `bad_target`, `bad_duration`), or undefined when
 *   done
 */
export async function moderate(
  actor: Session,
  host: SessionHost,
  request: ModRequest,
): Promise<ProtocolError | undefined> {
  return (await _moderate(actor, host, request)) ?? undefined;
}

async function _moderate(
  actor: Session,
  host: SessionHost,
  request: ModRequest,
): Promise<ProtocolError | void> {
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
  /**
   * Makes an act take effect: in memory and on this node's members at once, then kept (and
   * told to the other nodes of a cluster, which apply it to theirs).
   */
  const act = async (done: ModerationAct): Promise<void> => {
    const kept = moderation.record(done);
    applyAct(host, done, actor);
    if (done.notice !== undefined) actor.notify(done.notice);
    await kept.catch((error) =>
      host.log.error("moderation_not_kept", {
        action: done.notice?.action,
        error: error instanceof Error ? error.message : String(error),
      })
    );
  };
  if (request.action === "bans") {
    const bans = moderation.bans().map(_entry);
    actor.notify({ type: "bans", bans });
    log("bans", { count: bans.length });
    return;
  }
  const typed = request.target;
  const target = await _find(host, typed);
  const name = target?.name ?? typed;

  switch (request.action) {
    case "kick": {
      if (target === undefined) return _nobody(typed);
      const refused = _untouchable(actor, target, host, "kick");
      if (refused !== undefined) return refused;
      await act({ notice: _notice("kick", name, by, {}, request.reason), member: target.member });
      log("kick", {
        target: name,
        target_peer: target.session?.peer ?? target.ip,
        reason: request.reason,
      });
      return;
    }
    case "ban": {
      const until = _until(request.duration);
      if (until instanceof ProtocolError) return until;
      let ban: Ban;
      if (target !== undefined) {
        const refused = _untouchable(actor, target, host, "ban");
        if (refused !== undefined) return refused;
        ban = target.fingerprint !== undefined
          ? { target: target.fingerprint, kind: "identity", name, by }
          : { target: target.ip, kind: "address", name, by };
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
              target === undefined ? "That" : `${name} has no identity key, so a ban would be of ` +
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
      await act({
        change: { kind: "ban", ban },
        notice: _notice("ban", ban.name ?? ban.target, by, until ?? {}, request.reason),
      });
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
      let key = isFingerprint(typed) ? typed : readAddress(typed);
      if (key === undefined) {
        // A name: the ban made under it, or the identity or address of the member called so.
        const named = nameKey(typed);
        key = moderation.bans().find((ban) => ban.name !== undefined && nameKey(ban.name) === named)
          ?.target ?? target?.fingerprint ?? target?.ip;
      }
      const lifted = key === undefined ? undefined : moderation.banOf(key);
      if (lifted === undefined) {
        return _badTarget(`No ban of ${quote(typed)} is in force: /bans lists them`);
      }
      await act({
        change: { kind: "unban", target: lifted.target },
        notice: _notice("unban", lifted.target, by, {}),
      });
      log("unban", { target: lifted.target, name: lifted.name });
      return;
    }
    case "mute":
    case "unmute": {
      if (target === undefined) return _nobody(typed);
      const refused = _untouchable(actor, target, host, request.action);
      if (refused !== undefined) return refused;
      const key = target.fingerprint ?? target.ip;
      let done: ModerationAct;
      if (request.action === "mute") {
        const until = _until(request.duration);
        if (until instanceof ProtocolError) return until;
        const mute = { target: key, by, ...(until === undefined ? {} : { until: until.at }) };
        done = {
          change: { kind: "mute", mute },
          notice: _notice("mute", name, by, until ?? {}),
          member: target.member,
        };
      } else {
        if (moderation.muteOf(key) === undefined) return _badTarget(`${name} is not muted`);
        done = {
          change: { kind: "unmute", target: key },
          notice: _notice("unmute", name, by, {}),
          member: target.member,
        };
      }
      await act(done);
      log(request.action, { target: name, key, duration: done.notice?.duration });
      return;
    }
    case "op":
    case "deop": {
      if (target === undefined) return _nobody(typed);
      const fingerprint = target.fingerprint;
      if (fingerprint === undefined) {
        return _badTarget(
          `${name} joined without an identity key: operators are identities, never names ` +
            `(they can join with 'chat join', which proves one)`,
        );
      }
      if (request.action === "op") {
        if (moderation.isOp(fingerprint)) return _badTarget(`${name} is already an operator`);
        await act({
          change: { kind: "op", fingerprint, by },
          notice: _notice("op", name, by, {}),
          member: target.member,
        });
      } else {
        if (moderation.isConfigOp(fingerprint)) {
          return _badTarget(
            `${name} is an operator by --op on the server's command line: only a restart ` +
              `without it takes that away`,
          );
        }
        if (!moderation.isOp(fingerprint)) return _badTarget(`${name} is not an operator`);
        await act({
          change: { kind: "deop", fingerprint },
          notice: _notice("deop", name, by, {}),
          member: target.member,
        });
      }
      log(request.action, { target: name, fingerprint });
      return;
    }
  }
}

/**
 * Applies an operator's act to this node's members: a ban disconnects everyone it covers (that
 * identity, or every non-operator at that address), a mute or unmute changes whom it covers,
 * and the member the act names is told (and closed for a kick). Called for this node's own
 * operators' acts and for those other nodes of the cluster announce; memory already knows the
 * change.
 *
 * @param host the server
 * @param act what an operator did
 * @param actor the operator, when it is a member of this node (it is told separately)
 */
export function applyAct(host: SessionHost, act: ModerationAct, actor?: Session): void {
  const change = act.change;
  const notice = act.notice;
  if (change?.kind === "ban") {
    const ban = change.ban;
    for (const other of [...host.sessions()]) {
      const covered = ban.kind === "identity"
        ? other.fingerprint === ban.target
        : other.ip === ban.target && !other.isOp;
      if (!covered || other === actor || other.closed) continue;
      if (other.name === undefined || notice === undefined) {
        other.close("banned", {
          notice: { type: "error", code: "banned", message: banRefusal(ban).message },
        });
      } else {
        other.moderated({ ...notice, target: other.name }, "banned");
      }
    }
    return;
  }
  if (change?.kind === "mute" || change?.kind === "unmute") {
    const key = change.kind === "mute" ? change.mute.target : change.target;
    const mute = host.trust.moderation.muteOf(key);
    for (const other of host.sessions()) {
      if ((other.fingerprint ?? other.ip) === key && !other.isOp) other.setMute(mute);
    }
  }
  if (act.member === undefined || notice === undefined) return;
  for (const other of host.sessions()) {
    if (memberKeyOf(other) !== act.member || other.closed) continue;
    if (notice.action === "kick") other.moderated(notice, "kicked");
    else if (other !== actor) other.moderated(notice);
  }
}

/** Refuses an action on oneself (but `/unmute` and `/op` of oneself are harmless) or an op. */
function _untouchable(
  actor: Session,
  target: _Target,
  host: SessionHost,
  action: "kick" | "ban" | "mute" | "unmute",
): ProtocolError | undefined {
  if (target.session === actor) {
    return _badTarget(
      action === "kick"
        ? "You cannot kick yourself: /quit leaves"
        : `You cannot ${action} yourself`,
    );
  }
  if (target.isOp) {
    return _opTarget(target.name, host.trust.moderation.isConfigOp(target.fingerprint ?? ""));
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
