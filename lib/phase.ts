/**
 * Phase rules: which steps a phase contains, and which moves between phases `pulumi up` may carry out.
 */
import { Phase, PHASES } from "./config";

/** True when `phase` is `since` or a later phase. */
export function reached(phase: Phase, since: Phase): boolean {
    return PHASES.indexOf(phase) >= PHASES.indexOf(since);
}

/**
 * Check a move from the phase of the last deployment (undefined for a new stack) to the requested one.
 * Returns an error message when the move is refused.
 */
export function transitionError(previous: string | undefined, next: Phase): string | undefined {
    if (previous !== undefined && !(PHASES as readonly string[]).includes(previous)) {
        return `the last deployment reports an unknown phase ${JSON.stringify(previous)}; refusing to guess. Inspect the stack with pulumi stack output.`;
    }
    if (previous === "complete" && next !== "complete") {
        return `phase ${next} refused: this stack completed the move (the old server is retired and DNS points to the new one). ` +
            `Going back is a new migration: create a new stack with the roles swapped. To keep going: pulumi config set phase complete`;
    }
    if (next === "complete" && previous !== "cutover" && previous !== "complete") {
        return `phase complete refused: the cutover has not been deployed yet (last phase: ${previous ?? "none"}). ` +
            `Run pulumi config set phase cutover && pulumi up first.`;
    }
    return undefined;
}

/** A warning for moves that are allowed but unwise. */
export function transitionWarning(previous: string | undefined, next: Phase): string | undefined {
    if (next === "cutover" && previous === undefined) {
        return "cutover without a prior prepare: the DNS TTL was not lowered ahead of time, so resolvers may keep the old " +
            "address for up to the normal TTL, and the media copy happens entirely inside the downtime.";
    }
    return undefined;
}
