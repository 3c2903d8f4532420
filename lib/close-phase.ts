/**
 * Closing rules: which steps a closing phase contains (`closePlan`, which `close.ts` follows), and which
 * moves between closing phases `pulumi up` may carry out, with the notice and download periods.
 *
 *   (open) -> announce -> closing -> self-destruct -> tombstone -> parked
 *
 * Going back before self-destruct is a rollback (the later steps leave the program and their undo runs;
 * back to `open`, the announcement is withdrawn and registrations reopen); from self-destruct on, going
 * back is refused: remote servers were told the accounts are gone.
 */
import { CLOSE_PHASES, ClosePhase } from "./config-keys";

/** True when `phase` is `since` or a later closing phase. */
export function closeReached(phase: ClosePhase, since: ClosePhase): boolean {
    return CLOSE_PHASES.indexOf(phase) >= CLOSE_PHASES.indexOf(since);
}

/** What the last deployment of the stack reported (its outputs), as the close runbook needs it. */
export interface CloseHistory {
    /** The operation of the last deployment (undefined for a new stack). */
    operation?: string;
    /** Its move phase (operation move) or closing phase (operation close). */
    phase?: string;
    /** When the announcement was published (ISO time), once announce ran. */
    announcedAt?: string;
    /** When the last requested archive was ready (ISO time), once the backups gate passed. */
    archivesReadyAt?: string;
    /** When everything but nginx was stopped (ISO time), once the tombstone phase ran. */
    tombstoneAt?: string;
}

/** An ISO date-time in UTC, for messages. */
const when = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace("T", " ") + " UTC";

/**
 * Check a closing move from the last deployment to `next` at time `now` (ms). Returns an error message when
 * the move is refused: an unknown or other operation, a step back from self-destruct on, a skipped phase,
 * or a notice/download period that has not passed (the message gives the date it passes).
 */
export function closeTransitionError(
    history: CloseHistory,
    next: ClosePhase,
    periods: { noticeSeconds: number; downloadSeconds: number; tombstoneSeconds: number },
    now: number,
): string | undefined {
    if (history.operation === "move" && history.phase !== undefined) {
        return (
            `operation close refused: this stack runs a move (last phase: ${history.phase}). ` +
            `Close an instance from a stack of its own: pulumi stack init <name>-close`
        );
    }
    const previous = history.phase;
    if (previous !== undefined && !(CLOSE_PHASES as readonly string[]).includes(previous)) {
        return `the last deployment reports an unknown closing phase ${JSON.stringify(previous)}; refusing to guess. Inspect the stack with pulumi stack output.`;
    }
    const from = previous as ClosePhase | undefined;
    // A new stack is where `open` is: nothing of the closure exists yet.
    const index = (p: ClosePhase | undefined) => CLOSE_PHASES.indexOf(p ?? "open");
    if (from && closeReached(from, "self-destruct") && index(next) < index(from)) {
        return (
            `closePhase ${next} refused: this instance was self-destructed (last phase: ${from}). Remote servers have been told ` +
            `that every account is gone, so nothing can bring the instance back. To keep going: pulumi config set closePhase ${from}`
        );
    }
    if (index(next) > index(from) + 1) {
        const missing = CLOSE_PHASES[index(from) + 1];
        return (
            `closePhase ${next} refused: the phases run in order and ${missing} has not been deployed yet ` +
            `(last phase: ${from ?? "none"}). Run pulumi config set closePhase ${missing} && pulumi up first.`
        );
    }
    if (next === "closing" && from === "announce") {
        const announced = Date.parse(history.announcedAt ?? "");
        if (Number.isNaN(announced))
            return "closePhase closing refused: the announce phase recorded no announcement time; run pulumi up with closePhase announce again.";
        const possible = announced + periods.noticeSeconds * 1000;
        if (now < possible) {
            return (
                `closePhase closing refused: the notice period runs until ${when(possible)} (announced ${when(announced)}, ` +
                `${describe(periods.noticeSeconds)}). Try again then; the notice period is closeNoticeDays.`
            );
        }
    }
    if (next === "self-destruct" && from === "closing") {
        const ready = Date.parse(history.archivesReadyAt ?? "");
        if (Number.isNaN(ready)) {
            return "closePhase self-destruct refused: the archives are not all ready yet (the backups gate has not passed); run pulumi up with closePhase closing again.";
        }
        const possible = ready + periods.downloadSeconds * 1000;
        if (now < possible) {
            return (
                `closePhase self-destruct refused: users may download their archives until ${when(possible)} ` +
                `(archives ready ${when(ready)}, ${describe(periods.downloadSeconds)}). Try again then; the period is closeDownloadDays.`
            );
        }
    }
    if (next === "parked" && from === "tombstone") {
        const since = Date.parse(history.tombstoneAt ?? "");
        if (Number.isNaN(since))
            return "closePhase parked refused: the tombstone phase recorded no time; run pulumi up with closePhase tombstone again.";
        const possible = since + periods.tombstoneSeconds * 1000;
        if (now < possible) {
            return (
                `closePhase parked refused: the tombstone answers 410 until ${when(possible)} (since ${when(since)}, ` +
                `${describe(periods.tombstoneSeconds)}), so remote servers learn the instance is gone. Try again then; the period is tombstoneDays.`
            );
        }
    }
    return undefined;
}

function describe(seconds: number): string {
    return seconds % 86_400 === 0 ? `${seconds / 86_400} days` : `${seconds} s`;
}

/** What nginx answers in a closing phase: the normal site, 410 for all but media, or 410 for every path. */
export type SiteMode = "normal" | "gone-but-media" | "gone";

/**
 * What one closing phase contains. The announcement (and closed registrations) is in every phase but
 * `open`: its steps leave the program only on a rollback to `open` or when the stack is destroyed, which
 * from self-destruct on keeps them.
 */
export interface ClosePlan {
    /** The announcement published and registrations closed (every phase but open). */
    announce: boolean;
    /** What nginx answers; one step whose mode changes, so a rollback to announce restores the site. */
    site: SiteMode;
    /** Archives requested and waited for (closing on; they stay, done). */
    backups: boolean;
    /** `tootctl self-destruct`, SELF_DESTRUCT in .env.production, the deletion notices followed (self-destruct on). */
    selfDestruct: boolean;
    /** The final dump, encrypted on the server (tombstone on). */
    dump: boolean;
    /** The upload to the archive bucket and its short-lived credentials (the tombstone phase only). */
    upload: boolean;
    /** Everything but nginx stopped and disabled (tombstone on). */
    stopServices: boolean;
    /** DNS: the record adopted and protected, pointing at the server (until parked), or the parked records. */
    dns: "server" | "parked";
    /** The steps that took the instance down are kept when the stack is destroyed (self-destruct on). */
    keepDown: boolean;
}

/** The steps a closing phase contains. */
export function closePlan(phase: ClosePhase): ClosePlan {
    const at = (p: ClosePhase) => closeReached(phase, p);
    return {
        announce: at("announce"),
        site: at("tombstone") ? "gone" : at("closing") ? "gone-but-media" : "normal",
        backups: at("closing"),
        selfDestruct: at("self-destruct"),
        dump: at("tombstone"),
        upload: phase === "tombstone",
        stopServices: at("tombstone"),
        dns: phase === "parked" ? "parked" : "server",
        keepDown: at("self-destruct"),
    };
}
