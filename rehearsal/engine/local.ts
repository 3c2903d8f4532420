/** TEST STAND-IN for the @pulumi/command 1.2.1 provider's local side: run a command on this machine. */
import { spawn } from "node:child_process";
import { exitError, lineSplitter, type ExecResult, type LineSink } from "./ssh";

export interface LocalRun {
    command: string;
    interpreter?: string[];
    dir?: string;
    environment: Record<string, string>;
    stdin?: string;
}

export function runLocal(run: LocalRun, sink: LineSink): Promise<ExecResult> {
    const [program, ...args] = run.interpreter && run.interpreter.length > 0 ? run.interpreter : ["/bin/sh", "-c"];
    return new Promise((resolve, reject) => {
        const child = spawn(program!, [...args, run.command], {
            cwd: run.dir,
            env: { ...process.env, ...run.environment },
            stdio: ["pipe", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        const out = lineSplitter(l => sink("stdout", l));
        const err = lineSplitter(l => sink("stderr", l));
        child.stdout.on("data", (d: Buffer) => {
            stdout += d.toString();
            out.push(d.toString());
        });
        child.stderr.on("data", (d: Buffer) => {
            stderr += d.toString();
            err.push(d.toString());
        });
        child.on("error", reject);
        child.on("close", (code, signal) => {
            out.flush();
            err.flush();
            if (code === 0) return resolve({ stdout, stderr });
            const why = code === null ? `signal: ${signal}` : `exit status ${code}`;
            reject(exitError(why, stdout, stderr));
        });
        child.stdin.on("error", () => undefined);
        child.stdin.end(run.stdin ?? "");
    });
}
