/**
 * Maintenance page on the source server (`maintenance/show.sh`): nginx answers every request with
 * `public/500.html` while Mastodon is stopped, so that page is replaced. The original is kept beside it and
 * put back when the step is deleted (rollback, `maintenance/restore.sh`).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as command from "@pulumi/command";
import { Server } from "../lib/server";
import { StepGroup, StepGroupOptions } from "../lib/step-group";
import { scriptsIn, StepScript } from "../lib/step-script";

const script = scriptsIn(__dirname, "maintenance");

export interface MaintenanceArgs {
    /** The source server. */
    source: Server;
    /** The instance's domain, shown on the page. */
    domain: string;
    /** Text of the page (plain text; HTML-escaped here). */
    message: string;
}

export function escapeHtml(text: string): string {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

/** The maintenance page itself (`maintenance/page.html` with the domain and message filled in). */
export function maintenancePage(domain: string, message: string): string {
    const template = readFileSync(join(__dirname, "maintenance", "page.html"), "utf8");
    return template.replace(/\{\{domain\}\}/g, escapeHtml(domain)).replace(/\{\{message\}\}/g, escapeHtml(message));
}

export const showMaintenanceScript = (liveDir: string, page: string): StepScript => script("show.sh", { LIVE: liveDir, PAGE_HTML: page });

export class Maintenance extends StepGroup {
    /** The step that shows the page. */
    readonly show: command.remote.Command;

    constructor(name: string, args: MaintenanceArgs, opts?: StepGroupOptions) {
        super("Maintenance", name, opts);
        const live = args.source.liveDir;
        this.show = this.step("page", args.source, showMaintenanceScript(live, maintenancePage(args.domain, args.message)), {
            undo: script("restore.sh", { LIVE: live }),
        });
        this.done();
    }
}
