/**
 * The SSH agent the command provider would use. pulumi-resource-command adds `$SSH_AUTH_SOCK` (when set) to every
 * connection's authentication, and a socket it cannot dial fails the connection at once, before any key is tried
 * (provider/pkg/provider/remote/connection.go: SSHConfig, dialAgent). The provider inherits the CLI's environment,
 * as the program does, so the program can tell before any step runs.
 */
import * as net from "node:net";

/** Why `$SSH_AUTH_SOCK` would fail every SSH connection of the command provider, or undefined when it is fine. */
export async function agentSocketProblem(
    path: string | undefined = process.env.SSH_AUTH_SOCK,
    timeoutMs = 2000,
): Promise<string | undefined> {
    if (!path) return undefined;
    const error = await new Promise<string | undefined>(resolve => {
        const socket = net.connect(path);
        const timer = setTimeout(() => (socket.destroy(), resolve("it did not answer")), timeoutMs);
        socket.once("connect", () => (clearTimeout(timer), socket.end(), resolve(undefined)));
        socket.once("error", (e: NodeJS.ErrnoException) => (clearTimeout(timer), resolve(e.code ?? e.message)));
    });
    if (error === undefined) return undefined;
    return (
        `SSH_AUTH_SOCK=${path} cannot be reached (${error}): the command provider uses that agent for every SSH connection ` +
        "and fails them all when it cannot dial it. Start the agent again (eval $(ssh-agent)), or run pulumi with the variable unset (env -u SSH_AUTH_SOCK pulumi up)"
    );
}
