/**
 * The policies of the mastodon-migration policy pack, as plain objects built on pure helpers, so the unit
 * tests call them without constructing the `PolicyPack` (which starts the gRPC server the Pulumi CLI talks to).
 * `index.ts` serves them.
 *
 * What the policy runtime (@pulumi/policy 1.21.0, driven by the engine's analyzer protocol) shows a policy:
 * - `validateResource`: type, name, urn, the resource's INPUTS as plain values (secrets are unwrapped and carry
 *   no marker; unknown values throw when read through `props`), and `opts`: protect, ignoreChanges,
 *   deleteBeforeReplace, aliases, customTimeouts, additionalSecretOutputs, parent.
 * - `validateStack`: every resource of the deployment with its OUTPUTS (secrets unwrapped), the same `opts`,
 *   `parent`, and its direct `dependencies` and `propertyDependencies` as resource objects.
 * - `remediateResource`: the inputs with secrets still wrapped in `Secret` (behind a proxy that unwraps on read).
 * - Nowhere: `retainOnDelete`, `import`, or which stack config keys are secret.
 *
 * Values are read with `rawProperty` (the stored value, bypassing the runtime's proxies) wherever a property
 * may be unknown during a preview, so a policy never aborts on an unknown value.
 */
import {
    PolicyResource,
    PolicyResourceOptions,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Secret,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";

/** Pulumi type tokens of the resources the policies look at. */
export const TYPES = {
    dnsRecord: "cloudflare:index/dnsRecord:DnsRecord",
    ec2Instance: "aws:ec2/instance:Instance",
    eip: "aws:ec2/eip:Eip",
    command: "command:remote:Command",
    stack: "pulumi:pulumi:Stack",
} as const;

/** Every `@pulumi/command` remote resource (Command, CopyToRemote, CopyFile) takes an SSH `connection`. */
export const COMMAND_REMOTE_PREFIX = "command:remote:";

/** Step names (resource names of `command:remote:Command` steps); stable across phases. */
export const STEP = {
    keyGenerate: "migration-key-generate",
    maintenancePage: "maintenance-page",
    sourceServicesStop: "source-services-stop",
    databaseRestore: "database-restore",
    mediaFinal: "media-final",
    appHealth: "app-health",
    verifyCounts: "verify-counts",
} as const;

/** The cutover steps that move data while the old server is stopped. */
export const CUTOVER_DATA_STEPS = ["database-dump", "database-transfer", "database-restore", "media-final", "redis-copy"] as const;

/** The cutover steps whose delete (rollback) revives the old server: kept on destroy once the move is complete. */
export const SHUTDOWN_STEPS = [STEP.maintenancePage, STEP.sourceServicesStop] as const;

const SHUTDOWN_UNDO: Record<string, string> = {
    [STEP.maintenancePage]: "puts the original error page back on the old server",
    [STEP.sourceServicesStop]: "starts Mastodon again on the old server",
};

export type Phase = "prepare" | "cutover" | "complete";
const PHASES: readonly string[] = ["prepare", "cutover", "complete"];

// ---------------------------------------------------------------------------------------------------------
// Pure helpers
// ---------------------------------------------------------------------------------------------------------

/**
 * The value of `key` as the runtime stored it: no unknown-value check, no secret unwrapping. The runtime's
 * proxies have no `getOwnPropertyDescriptor` trap, so the descriptor is the underlying object's.
 */
export function rawProperty(obj: unknown, key: string): unknown {
    if (obj === null || typeof obj !== "object") return undefined;
    return Object.getOwnPropertyDescriptor(obj, key)?.value;
}

/** Own enumerable entries with raw values (see `rawProperty`). */
export function rawEntries(obj: unknown): [string, unknown][] {
    if (obj === null || typeof obj !== "object") return [];
    return Object.keys(obj).map(k => [k, rawProperty(obj, k)]);
}

/** True for a value the runtime marked secret. Only `remediateResource` ever receives such values. */
export function isSecret(value: unknown): value is Secret {
    return value instanceof Secret;
}

/** Armour and magic strings of private keys: PEM (`-----BEGIN ... PRIVATE KEY-----`), OpenSSH, PuTTY. */
export const PRIVATE_KEY_PATTERNS: readonly RegExp[] = [
    /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/,
    // base64 of "openssh-key-v1", the start of every OpenSSH private key body, even without its armour lines
    /b3BlbnNzaC1rZXktdjE/,
    /PuTTY-User-Key-File-\d/,
];

export function looksLikePrivateKey(text: string): boolean {
    return PRIVATE_KEY_PATTERNS.some(p => p.test(text));
}

/**
 * Dotted paths of the strings in `value` that hold private key material, skipping the paths `allowed` accepts.
 * Walks raw values (unknown placeholders are plain strings here and never match); looks inside secrets.
 */
export function privateKeyPaths(value: unknown, allowed: (path: string[]) => boolean = () => false): string[] {
    const found: string[] = [];
    const seen = new Set<object>();
    const walk = (v: unknown, path: string[]): void => {
        if (allowed(path)) return;
        if (typeof v === "string") {
            if (looksLikePrivateKey(v)) found.push(path.join(".") || "(the value itself)");
            return;
        }
        if (v === null || typeof v !== "object" || seen.has(v)) return;
        seen.add(v);
        if (isSecret(v)) {
            walk(v.value, path);
            return;
        }
        for (const [k, child] of rawEntries(v)) walk(child, [...path, k]);
    };
    walk(value, []);
    return found;
}

/** Where an SSH connection legitimately carries a private key: `connection.privateKey` (and its proxy jump's). */
export function isConnectionKeyPath(path: string[]): boolean {
    const p = path.join(".");
    return p === "connection.privateKey" || p === "connection.proxy.privateKey";
}

/**
 * `retainOnDelete` of a resource, when the runtime reports it. @pulumi/policy 1.21.0 does not (neither
 * `PolicyResourceOptions` nor the engine's `AnalyzerResourceOptions` carries it), so this is `undefined` there;
 * the policies use it only to reject an explicit `false` should a later runtime report the option.
 */
export function retainOnDeleteOf(opts: PolicyResourceOptions): boolean | undefined {
    const v = rawProperty(opts, "retainOnDelete");
    return typeof v === "boolean" ? v : undefined;
}

/** The `command:remote:Command` steps by resource name (the first of a name wins). */
export function stepsByName(resources: readonly PolicyResource[]): Map<string, PolicyResource> {
    const steps = new Map<string, PolicyResource>();
    for (const r of resources) {
        if (r.type === TYPES.command && !steps.has(r.name)) steps.set(r.name, r);
    }
    return steps;
}

/** URNs a resource depends on directly: `dependencies` and every property's dependencies. */
export function directDependencyUrns(r: Pick<PolicyResource, "dependencies" | "propertyDependencies">): Set<string> {
    const urns = new Set<string>((r.dependencies ?? []).map(d => d.urn));
    for (const deps of Object.values(r.propertyDependencies ?? {})) {
        for (const d of deps) urns.add(d.urn);
    }
    return urns;
}

export function dependsDirectlyOn(
    r: Pick<PolicyResource, "dependencies" | "propertyDependencies">,
    on: Pick<PolicyResource, "urn">,
): boolean {
    return directDependencyUrns(r).has(on.urn);
}

/**
 * The phase, inferred from the steps declared: no `database-restore` is prepare; `database-restore` with
 * `migration-key-generate` is cutover; `database-restore` without it is complete (the key is removed then).
 */
export function inferPhase(resources: readonly PolicyResource[]): Phase {
    const steps = stepsByName(resources);
    if (!steps.has(STEP.databaseRestore)) return "prepare";
    return steps.has(STEP.keyGenerate) ? "cutover" : "complete";
}

/** The `phase` stack output (the program exports it), when the root stack resource carries a known one. */
export function stackOutputPhase(resources: readonly PolicyResource[]): Phase | undefined {
    const stack = resources.find(r => r.type === TYPES.stack);
    const phase = stack && rawProperty(stack.props, "phase");
    return typeof phase === "string" && PHASES.includes(phase) ? (phase as Phase) : undefined;
}

/** Complete when the declared steps say so, or when the stack's own `phase` output does. */
export function isComplete(resources: readonly PolicyResource[]): boolean {
    return inferPhase(resources) === "complete" || stackOutputPhase(resources) === "complete";
}

const dnsRecords = (resources: readonly PolicyResource[]) => resources.filter(r => r.type === TYPES.dnsRecord);

// ---------------------------------------------------------------------------------------------------------
// Resource policies
// ---------------------------------------------------------------------------------------------------------

/** Protection of resources whose loss is an outage: reports unprotected ones of the given types. */
function requireProtected(types: readonly string[], what: (args: ResourceValidationArgs) => string, fix: string) {
    return (args: ResourceValidationArgs, reportViolation: ReportViolation): void => {
        if (!types.includes(args.type)) {
            args.notApplicable(`applies to ${types.join(", ")} only`);
        }
        if (!args.opts.protect) {
            reportViolation(`${what(args)} is not protected: ${fix}`);
        }
        if (retainOnDeleteOf(args.opts) === false) {
            reportViolation(
                `${what(args)} has retainOnDelete: false: pulumi destroy would delete it. Declare it with retainOnDelete: true.`,
            );
        }
    };
}

export const dnsRecordProtected: ResourceValidationPolicy = {
    name: "dns-record-protected",
    description: "Every Cloudflare DNS record is protected, so no Pulumi operation deletes the instance's address.",
    enforcementLevel: "mandatory",
    validateResource: requireProtected(
        [TYPES.dnsRecord],
        args => `Cloudflare DNS record ${args.name} (${args.urn})`,
        "a destroy, a replacement or a rename would delete the record the whole fediverse resolves. " +
            "Declare it with protect: true and retainOnDelete: true (components/dns.ts).",
    ),
};

export const ec2Protected: ResourceValidationPolicy = {
    name: "ec2-protected",
    description: "The EC2 instance and the Elastic IP of the new server are protected.",
    enforcementLevel: "mandatory",
    validateResource: requireProtected(
        [TYPES.ec2Instance, TYPES.eip],
        args => `${args.type === TYPES.eip ? "Elastic IP" : "EC2 instance"} ${args.name} (${args.urn})`,
        "once DNS points at the new server it holds the live instance (database, media) and its address; a destroy or " +
            "a replacement would take it down. Declare it with protect: true (components/targetServer.ts).",
    ),
};

/**
 * SSH private keys never in plaintext. The runtime hands validations the inputs with secrets unwrapped, so the
 * secret marker of `connection` is invisible here; what is visible, and checked:
 * - `opts.additionalSecretOutputs` of a `command:remote:*` resource with a connection contains "connection"
 *   (the @pulumi/command SDK sets it together with wrapping the input in a secret, from the provider schema);
 * - private key material appears in no input other than `connection.privateKey` (any resource type).
 * The companion policy `ssh-connection-sealed` sees the marker itself, in the remediation hook.
 */
export function validateNoPlaintextSecrets(args: ResourceValidationArgs, reportViolation: ReportViolation): void {
    const isRemote = args.type.startsWith(COMMAND_REMOTE_PREFIX);
    const connection = rawProperty(args.props, "connection");
    if (isRemote && connection !== undefined && !(args.opts.additionalSecretOutputs ?? []).includes("connection")) {
        reportViolation(
            `${args.type} ${args.name} does not list "connection" in additionalSecretOutputs: its SSH connection ` +
                "(with the private key) would be stored in the state in plaintext. Declare it through the @pulumi/command " +
                'SDK (which marks the connection secret) or add additionalSecretOutputs: ["connection"].',
        );
    }
    for (const path of privateKeyPaths(args.props, isRemote ? isConnectionKeyPath : undefined)) {
        reportViolation(
            `${args.type} ${args.name} carries private key material in its input "${path}", outside connection.privateKey: ` +
                "it would be stored in the state and shown in diffs. Pass SSH keys only as connection.privateKey, read " +
                "from a secret config value (pulumi config set --secret sourceSshKey < key).",
        );
    }
}

export const noPlaintextSecrets: ResourceValidationPolicy = {
    name: "no-plaintext-secrets",
    description: "SSH private keys travel only as the secret connection.privateKey of remote commands, never in plaintext.",
    enforcementLevel: "mandatory",
    validateResource: validateNoPlaintextSecrets,
};

/** Replace every `Secret` inside `value` by its plain value (the caller wraps the whole in one secret). */
function unwrapSecrets(value: unknown): unknown {
    if (isSecret(value)) return unwrapSecrets(value.value);
    if (Array.isArray(value)) return value.map(unwrapSecrets);
    if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
        return Object.fromEntries(rawEntries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
    }
    return value;
}

/**
 * The remediation of `ssh-connection-sealed`: a remote command's `connection` whose private key (or password)
 * arrived as a plaintext input comes back wrapped in a secret; anything else is left alone (undefined).
 * This is the one hook in which the runtime shows the secret marker (inputs deserialized with secrets kept).
 */
export function sealConnection(args: Pick<ResourceValidationArgs, "type" | "props">): Record<string, unknown> | undefined {
    if (!args.type.startsWith(COMMAND_REMOTE_PREFIX)) return undefined;
    const connection = rawProperty(args.props, "connection");
    if (connection === null || typeof connection !== "object" || isSecret(connection)) return undefined;
    const credentials = ["privateKey", "password"].map(k => rawProperty(connection, k)).filter(v => v !== undefined);
    if (credentials.every(isSecret)) return undefined;
    return { ...Object.fromEntries(rawEntries(args.props)), connection: new Secret(unwrapSecrets(connection)) };
}

export const sshConnectionSealed: ResourceValidationPolicy = {
    name: "ssh-connection-sealed",
    description: "A remote command's SSH connection that arrives with a plaintext private key is sealed as a secret.",
    enforcementLevel: "remediate",
    remediateResource: args => sealConnection(args),
};

// ---------------------------------------------------------------------------------------------------------
// Stack policies
// ---------------------------------------------------------------------------------------------------------

export function validateCutoverDataWaitsForVerification(args: StackValidationArgs, reportViolation: ReportViolation): void {
    const steps = stepsByName(args.resources);
    const present = CUTOVER_DATA_STEPS.filter(n => steps.has(n));
    if (present.length === 0) {
        args.notApplicable(`no cutover data step (${CUTOVER_DATA_STEPS.join(", ")}) is declared`);
    }
    const first = steps.get(present[0]);
    const verify = steps.get(STEP.verifyCounts);
    if (!verify) {
        reportViolation(
            `the cutover data steps ${present.join(", ")} are declared but ${STEP.verifyCounts} is not: nothing compares ` +
                `row counts and media on both servers before DNS moves. Declare the Verify component (${STEP.verifyCounts}) ` +
                `depending on ${STEP.databaseRestore}${steps.has(STEP.mediaFinal) ? ` and ${STEP.mediaFinal}` : ""}, and make the DNS records depend on it.`,
            first?.urn,
        );
        return;
    }
    const restore = steps.get(STEP.databaseRestore);
    if (!restore) {
        reportViolation(
            `${present.join(", ")} are declared without ${STEP.databaseRestore}: ${STEP.verifyCounts} has no restore to wait for, ` +
                "and the new server would get DNS without its database. Declare the Database component's restore step.",
            verify.urn,
        );
    } else if (!dependsDirectlyOn(verify, restore)) {
        reportViolation(
            `${STEP.verifyCounts} does not depend on ${STEP.databaseRestore}: it could count rows before the restore has ` +
                `finished and report a partial database as identical. Add the ${STEP.databaseRestore} step to its dependsOn.`,
            verify.urn,
        );
    }
    const media = steps.get(STEP.mediaFinal);
    if (media && !dependsDirectlyOn(verify, media)) {
        reportViolation(
            `${STEP.verifyCounts} does not depend on ${STEP.mediaFinal}: it could compare media before the final pass has ` +
                `finished. Add the ${STEP.mediaFinal} step to its dependsOn.`,
            verify.urn,
        );
    }
    for (const record of dnsRecords(args.resources)) {
        if (!dependsDirectlyOn(record, verify)) {
            reportViolation(
                `DNS record ${record.name} does not depend on ${STEP.verifyCounts}: it could point the domain at the new ` +
                    `server before the data is verified. Pass the Verify component's check step in the Dns component's dependsOn.`,
                record.urn,
            );
        }
    }
}

export const cutoverDataWaitsForVerification: StackValidationPolicy = {
    name: "cutover-data-waits-for-verification",
    description:
        "When data moves (cutover, complete), verify-counts waits for the restore and the final media pass, and DNS waits for verify-counts.",
    enforcementLevel: "mandatory",
    validateStack: validateCutoverDataWaitsForVerification,
};

export function validateShutdownRetainedAfterComplete(args: StackValidationArgs, reportViolation: ReportViolation): void {
    if (!isComplete(args.resources)) {
        args.notApplicable(`phase ${inferPhase(args.resources)}: the old server's shutdown steps may still be rolled back`);
    }
    const steps = stepsByName(args.resources);
    for (const name of SHUTDOWN_STEPS) {
        const step = steps.get(name);
        if (!step) {
            reportViolation(
                `phase complete without the step ${name}: Pulumi deletes a step that leaves the program, and its delete ` +
                    `${SHUTDOWN_UNDO[name]} (the old server would take writes next to the new one). Keep ${name} declared ` +
                    "in complete, with retainOnDelete: true.",
            );
        } else if (retainOnDeleteOf(step.opts) === false) {
            reportViolation(
                `${name} has retainOnDelete: false in phase complete: destroying the stack would run its delete, which ` +
                    `${SHUTDOWN_UNDO[name]}. Declare it with retainOnDelete: true once the move is complete.`,
                step.urn,
            );
        }
    }
}

export const shutdownRetainedAfterComplete: StackValidationPolicy = {
    name: "shutdown-retained-after-complete",
    description: "Once the move is complete, the maintenance page and the stop of the old server stay declared and retained on delete.",
    enforcementLevel: "mandatory",
    validateStack: validateShutdownRetainedAfterComplete,
};

export function validateDnsWaitsForAppHealth(args: StackValidationArgs, reportViolation: ReportViolation): void {
    const health = stepsByName(args.resources).get(STEP.appHealth);
    const records = dnsRecords(args.resources);
    if (!health || records.length === 0) {
        args.notApplicable(health ? "no DNS record is declared" : `no ${STEP.appHealth} step (phase prepare)`);
    }
    for (const record of records) {
        if (!dependsDirectlyOn(record, health!)) {
            reportViolation(
                `DNS record ${record.name} does not depend on ${STEP.appHealth}: it could send the fediverse to a server ` +
                    `that does not answer yet. Pass the Application component's health step in the Dns component's dependsOn.`,
                record.urn,
            );
        }
    }
}

export const dnsWaitsForAppHealth: StackValidationPolicy = {
    name: "dns-waits-for-app-health",
    description: "When the new server is started (cutover, complete), every DNS record waits for its health check.",
    enforcementLevel: "mandatory",
    validateStack: validateDnsWaitsForAppHealth,
};

/** What a step printed (its outputs stdout and stderr) and the stack outputs: shown on screen and kept in the state. */
export function validateNoPrivateKeyInOutputs(args: StackValidationArgs, reportViolation: ReportViolation): void {
    for (const r of args.resources) {
        const fields = r.type.startsWith(COMMAND_REMOTE_PREFIX) ? ["stdout", "stderr"] : r.type === TYPES.stack ? Object.keys(r.props) : [];
        for (const field of fields) {
            for (const path of privateKeyPaths(rawProperty(r.props, field))) {
                const where = path === "(the value itself)" ? field : `${field}.${path}`;
                reportViolation(
                    `${r.type === TYPES.stack ? "the stack output" : `${r.name} printed to`} ${where} contains private key material: ` +
                        "it is now in the state and on the screen of whoever ran pulumi up. Rotate that key, and make the step " +
                        "print only public keys (the migration key's private half never leaves the old server).",
                    r.urn,
                );
            }
        }
    }
}

export const noPrivateKeyInOutputs: StackValidationPolicy = {
    name: "no-private-key-in-outputs",
    description: "No step prints a private key, and no stack output contains one.",
    enforcementLevel: "mandatory",
    validateStack: validateNoPrivateKeyInOutputs,
};

/** Every policy of the pack, in the order they are reported. */
export const policies: (ResourceValidationPolicy | StackValidationPolicy)[] = [
    dnsRecordProtected,
    ec2Protected,
    cutoverDataWaitsForVerification,
    shutdownRetainedAfterComplete,
    noPlaintextSecrets,
    sshConnectionSealed,
    dnsWaitsForAppHealth,
    noPrivateKeyInOutputs,
];
