/**
 * STAND-IN for the Pulumi AWS provider plugin `aws` 7.48.0 (pulumi-aws, bridged from terraform-provider-aws v6):
 * a real provider process, started by the real Pulumi CLI, that implements the resources and functions the
 * program uses against a stand-in "cloud" kept in the JSON file `$REHEARSAL_AWS_STATE`. It is strict where AWS
 * and the bridged provider are: unknown types and functions, missing required inputs, references to things that
 * do not exist, duplicate names, replace-on-change properties (ForceNew), as the upstream sources say (one
 * comment per resource names the file each rule comes from). Nothing here talks to AWS.
 *
 * The first half of this file is the behaviour of a bridged Terraform provider that the Node SDK's provider
 * server (`@pulumi/pulumi/provider`) lacks, shared with ../cloudflare/provider.ts: previews (the engine asks
 * Create/Update with `preview`, and keeps the old computed outputs), a detailed diff against the old INPUTS (as
 * the bridge's plan does), and the provider configuration (Configure's variables).
 */
import { createHash, createHmac, randomBytes, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import type * as provider from "@pulumi/pulumi/provider";
import { fail, record, reveal, secret, serve, UNKNOWN, urnParts, type Props } from "../serve";

// ----------------------------------------------------------------------------------------------------------
// Bridged-provider behaviour (shared with the cloudflare stand-in)
// ----------------------------------------------------------------------------------------------------------

/** `n` random lowercase hex digits. */
export function hex(n: number): string {
    return randomBytes(Math.ceil(n / 2))
        .toString("hex")
        .slice(0, n);
}

/** A stable hex digest of `s` (ids of things the stand-in clouds hold by default). */
export function digest(s: string, n = 16): string {
    return createHash("sha256").update(s).digest("hex").slice(0, n);
}

/** RFC 3339 time, to the second (as AWS and Cloudflare return it). */
export function now(): string {
    return new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
}

export const isUnknown = (v: unknown): boolean =>
    v === UNKNOWN || (Array.isArray(v) ? v.some(isUnknown) : !!v && typeof v === "object" && Object.values(v).some(isUnknown));

const isObject = (v: unknown): v is Props => !!v && typeof v === "object" && !Array.isArray(v);

/** A copy without `undefined` values (a protobuf Struct cannot hold them). */
export function clean<T>(v: T): T {
    if (Array.isArray(v)) return v.map(x => (x === undefined ? null : clean(x))) as T;
    if (isObject(v))
        return Object.fromEntries(
            Object.entries(v)
                .filter(([, x]) => x !== undefined)
                .map(([k, x]) => [k, clean(x)]),
        ) as T;
    return v;
}

/** A JSON "cloud" file named by an environment variable: read, and read-modify-write with tmp + rename. */
export class JsonFile<T extends object> {
    constructor(
        private readonly envName: string,
        private readonly empty: () => T,
        private readonly what: string,
    ) {}

    get path(): string {
        const p = process.env[this.envName];
        if (!p) fail(`$${this.envName} is not set: the stand-in keeps ${this.what} in that JSON file (it is created when missing)`);
        return p;
    }

    read(): T {
        const p = this.path;
        if (!fs.existsSync(p)) return this.empty();
        return JSON.parse(fs.readFileSync(p, "utf8")) as T;
    }

    /** Synchronous, so one provider process never interleaves two updates; nothing is written when `fn` throws. */
    update<R>(fn: (state: T) => R): R {
        const state = this.read();
        const result = fn(state);
        writeJsonAtomic(this.path, state);
        return result;
    }
}

export function writeJsonAtomic(file: string, value: unknown): void {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    const tmp = `${file}.${process.pid}.${hex(6)}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(value, null, 2) + "\n", { mode: 0o600 });
    fs.renameSync(tmp, file);
}

/** What a resource's schema says about its inputs, for Check and Diff. */
export interface ResourceSpec {
    /** Required inputs (schema `Required`): missing → a check failure naming the property. */
    required?: string[];
    /**
     * Property paths whose change replaces the resource (ForceNew, RequiresReplace): `a`, `a.b`, `a[*].b`.
     * A change at, inside or around a listed path is a replacement.
     */
    replaceOnChanges: string[];
    /** Optional+Computed inputs: leaving one out of the program keeps the old value (no diff). */
    computed?: string[];
    /** Schema defaults the bridge's Check fills in (SDKv2 `Default`, pulumi-aws `DefaultInfo`). */
    defaults?: Props;
    /** Pulumi autonaming (the bridge's Check): `<resource name>-<7 random hex>` when the program gives none. */
    autoname?: { property: string; maxLength: number; lower?: boolean; unless?: string[] };
    /** Validation of the (plain) inputs: ValidateFunc, ConflictsWith, ExactlyOneOf... */
    validate?(inputs: Props): provider.CheckFailure[];
    /** More replace paths from the old and new inputs (CustomizeDiff ForceNewIf, ModifyPlan RequiresReplace). */
    replaceIf?(oldInputs: Props, news: Props): string[];
    /** Values the provider's DiffSuppressFunc treats as equal. */
    equivalent?: Record<string, (a: unknown, b: unknown) => boolean>;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function autoName(name: string, maxLength: number, lower?: boolean): string {
    const value = `${name}-${hex(7)}`;
    if (value.length > maxLength) fail(`autonaming: name '${name}' is too long for a ${maxLength}-character auto-name`);
    return lower ? value.toLowerCase() : value;
}

function isAutoName(value: unknown, urn: string, lower?: boolean): boolean {
    const name = urnParts(urn).name;
    return typeof value === "string" && new RegExp(`^${escapeRe(lower ? name.toLowerCase() : name)}-[0-9a-f]{7}$`).test(value);
}

/** The bridge's Check: defaults, autonaming (an earlier auto-name is kept), required inputs, validation. */
export function checkInputs(spec: ResourceSpec, urn: string, olds: Props, news: Props): provider.CheckResult {
    const inputs: Props = { ...news };
    for (const [k, v] of Object.entries(spec.defaults ?? {})) if (inputs[k] === undefined || inputs[k] === null) inputs[k] = v;
    const auto = spec.autoname;
    if (
        auto &&
        (inputs[auto.property] === undefined || inputs[auto.property] === null) &&
        !(auto.unless ?? []).some(p => inputs[p] != null)
    ) {
        const old = olds[auto.property];
        inputs[auto.property] = isAutoName(old, urn, auto.lower) ? old : autoName(urnParts(urn).name, auto.maxLength, auto.lower);
    }
    const failures: provider.CheckFailure[] = [];
    for (const p of spec.required ?? [])
        if (inputs[p] === undefined || inputs[p] === null) failures.push({ property: p, reason: `Missing required property '${p}'` });
    if (failures.length === 0) failures.push(...(spec.validate?.(reveal<Props>(inputs)) ?? []));
    return { inputs, failures };
}

export type ChangeKind = "add" | "delete" | "update";

export interface DiffOutcome {
    changes: boolean;
    /** Top-level properties whose change replaces the resource. */
    replaces: string[];
    /** Top-level properties that changed. */
    diffs: string[];
    /** Property path → change (the CLI's `[diff: ~a]` display). */
    detailed: Record<string, { kind: ChangeKind; replace: boolean }>;
    deleteBeforeReplace: boolean;
}

const known = (v: unknown) => v !== undefined && v !== null;

function collect(a: unknown, b: unknown, at: string, out: [string, ChangeKind][]): void {
    if (b === UNKNOWN || (isUnknown(b) && !Array.isArray(b) && !isObject(b))) {
        out.push([at, known(a) ? "update" : "add"]);
        return;
    }
    if (!known(a) && !known(b)) return;
    if (!known(a)) return void out.push([at, "add"]);
    if (!known(b)) return void out.push([at, "delete"]);
    if (Array.isArray(a) && Array.isArray(b)) {
        for (let i = 0; i < Math.max(a.length, b.length); i++) collect(a[i], b[i], `${at}[${i}]`, out);
        return;
    }
    if (isObject(a) && isObject(b)) {
        for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) collect(a[k], b[k], at ? `${at}.${k}` : k, out);
        return;
    }
    if (JSON.stringify(a) !== JSON.stringify(b)) out.push([at, "update"]);
}

/** `a.b[*].c` matches `a`, `a.b`, `a.b[*].c.d` (a change at, inside or around a ForceNew path). */
function pathMatches(changed: string, pattern: string): boolean {
    const p = changed.replace(/\[\d+\]/g, "[*]");
    const within = (long: string, short: string) => long === short || long.startsWith(short + ".") || long.startsWith(short + "[");
    return within(p, pattern) || within(pattern, p);
}

/** The bridge's Diff: the program's new inputs against the old inputs (the last program's, or the imported ones). */
export function diffInputs(spec: ResourceSpec, urn: string, oldInputs: Props, news: Props): DiffOutcome {
    const olds = reveal<Props>(oldInputs);
    const plain = reveal<Props>(news);
    const changes: [string, ChangeKind][] = [];
    for (const k of new Set([...Object.keys(olds), ...Object.keys(plain)])) {
        if (!known(plain[k]) && (spec.computed ?? []).includes(k)) continue;
        const eq = spec.equivalent?.[k];
        if (eq && known(olds[k]) && known(plain[k]) && !isUnknown(plain[k]) && eq(olds[k], plain[k])) continue;
        collect(olds[k], plain[k], k, changes);
    }
    const patterns = [...spec.replaceOnChanges, ...(spec.replaceIf?.(olds, plain) ?? [])];
    const detailed: DiffOutcome["detailed"] = {};
    const replaces = new Set<string>();
    const diffs = new Set<string>();
    for (const [at, kind] of changes) {
        const top = at.split(/[.[]/)[0]!;
        const replace = patterns.some(p => pathMatches(at, p));
        detailed[at] = { kind, replace };
        diffs.add(top);
        if (replace) replaces.add(top);
    }
    const auto = spec.autoname;
    const named = !!auto && known(plain[auto.property]) && !isAutoName(plain[auto.property], urn, auto.lower);
    return {
        changes: changes.length > 0,
        replaces: [...replaces],
        diffs: [...diffs],
        detailed,
        // The bridge deletes first when a replaced resource keeps a name the program chose (it would collide).
        deleteBeforeReplace: replaces.size > 0 && named,
    };
}

export interface Bridged {
    impl: provider.Provider;
    /** The provider's configuration (Configure's variables, `pkg:config:key` → `key`); throw to refuse it. */
    configure?(config: Record<string, string>): void;
    diff(urn: string, id: string, olds: Props, news: Props, oldInputs: Props): DiffOutcome;
    /** The planned outputs of an update in a preview (default: the old outputs, then the new inputs). */
    planUpdate?(urn: string, olds: Props, news: Props): Props;
}

type Handler = (call: { request: any }, callback: (err: unknown, resp?: unknown) => void) => void;

function grpcError(e: unknown): { code: number; details: string; message: string } {
    const message = e instanceof Error ? e.message : String(e);
    return { code: grpc.status.UNKNOWN, details: message, message };
}

/**
 * Serve `b.impl` with the Node SDK's provider server, its gRPC handlers for Configure, Diff, Create and Update
 * wrapped where a bridged provider behaves otherwise (the SDK server has no preview, no detailed diff and
 * drops the configuration).
 */
export function serveBridged(b: Bridged): void {
    const pb = require("@pulumi/pulumi/proto/provider_pb.js") as Record<string, any>;
    const { Struct } = require("google-protobuf/google/protobuf/struct_pb.js") as { Struct: any };
    const proto = grpc.Server.prototype as unknown as { addService(s: object, impl: object): void };
    const addService = proto.addService;
    proto.addService = function (this: unknown, service: object, implementation: object) {
        if (!("diff" in service && "configure" in service)) return addService.call(this, service, implementation);
        const base = implementation as Record<string, Handler>;
        const wrapped: Record<string, Handler> = Object.create(implementation);
        wrapped.configure = (call, cb) => {
            const config: Record<string, string> = {};
            for (const [k, v] of call.request.getVariablesMap().entries() as Iterable<[string, string]>)
                config[k.replace(/^[^:]+:(config:)?/, "")] = v;
            const args = call.request.getArgs()?.toJavaScript() as Props | undefined;
            for (const [k, v] of Object.entries(args ?? {})) if (config[k] === undefined && typeof v === "string") config[k] = v;
            try {
                b.configure?.(config);
            } catch (e) {
                return cb(grpcError(e));
            }
            const resp = new pb.ConfigureResponse();
            resp.setAcceptsecrets(true);
            resp.setSupportspreview(true);
            resp.setAcceptresources(false);
            resp.setAcceptoutputs(false);
            cb(null, resp);
        };
        wrapped.diff = (call, cb) => {
            const r = call.request;
            try {
                const o = b.diff(
                    r.getUrn(),
                    r.getId(),
                    r.getOlds()?.toJavaScript() ?? {},
                    r.getNews()?.toJavaScript() ?? {},
                    r.getOldInputs()?.toJavaScript() ?? {},
                );
                const resp = new pb.DiffResponse();
                resp.setChanges(o.changes ? pb.DiffResponse.DiffChanges.DIFF_SOME : pb.DiffResponse.DiffChanges.DIFF_NONE);
                resp.setReplacesList(o.replaces);
                resp.setDiffsList(o.diffs);
                resp.setDeletebeforereplace(o.deleteBeforeReplace);
                const Kind = pb.PropertyDiff.Kind;
                const kinds = {
                    add: [Kind.ADD, Kind.ADD_REPLACE],
                    delete: [Kind.DELETE, Kind.DELETE_REPLACE],
                    update: [Kind.UPDATE, Kind.UPDATE_REPLACE],
                };
                const map = resp.getDetaileddiffMap();
                for (const [p, d] of Object.entries(o.detailed)) {
                    const pd = new pb.PropertyDiff();
                    pd.setKind(kinds[d.kind][d.replace ? 1 : 0]);
                    pd.setInputdiff(true);
                    map.set(p, pd);
                }
                resp.setHasdetaileddiff(true);
                cb(null, resp);
            } catch (e) {
                cb(grpcError(e));
            }
        };
        wrapped.read = (call, cb) => {
            // An import's Read has no properties (the SDK server expects a Struct).
            if (!call.request.getProperties()) call.request.setProperties(new Struct());
            return base.read!.call(implementation, call, cb);
        };
        wrapped.create = (call, cb) => {
            if (!call.request.getPreview()) return base.create!.call(implementation, call, cb);
            // A preview: the planned state is the inputs; what the provider computes is unknown until it runs.
            const resp = new pb.CreateResponse();
            resp.setId("");
            resp.setProperties(call.request.getProperties());
            cb(null, resp);
        };
        wrapped.update = (call, cb) => {
            const r = call.request;
            if (!r.getPreview()) return base.update!.call(implementation, call, cb);
            // A preview: computed outputs the update does not touch keep their values (as in a Terraform plan).
            const olds = (r.getOlds()?.toJavaScript() ?? {}) as Props;
            const news = (r.getNews()?.toJavaScript() ?? {}) as Props;
            const resp = new pb.UpdateResponse();
            resp.setProperties(Struct.fromJavaScript(b.planUpdate?.(r.getUrn(), olds, news) ?? { ...olds, ...news }));
            cb(null, resp);
        };
        return addService.call(this, service, wrapped);
    };
    serve(b.impl);
}

/** The call log entry of a CRUD operation: what the engine asked, when it began and ended. */
export async function timed<T>(providerName: string, method: string, fields: Props, fn: () => T | Promise<T>): Promise<T> {
    const startedAt = new Date().toISOString();
    try {
        const result = await fn();
        record(providerName, method, { ...fields, startedAt, endedAt: new Date().toISOString(), ok: true, result: result as unknown });
        return result;
    } catch (e) {
        record(providerName, method, { ...fields, startedAt, endedAt: new Date().toISOString(), ok: false, error: (e as Error).message });
        throw e;
    }
}

// ----------------------------------------------------------------------------------------------------------
// The stand-in AWS account
// ----------------------------------------------------------------------------------------------------------

const NAME = "aws";
const VERSION = "7.48.0";
export const ACCOUNT = "123456789012";

interface Stored {
    type: string;
    id: string;
    urn: string;
    inputs: Props;
    outputs: Props;
    createdAt: string;
    updatedAt?: string;
}

interface VpcSeed {
    id: string;
    cidrBlock: string;
    default?: boolean;
    region?: string;
    tags?: Record<string, string>;
}

interface SubnetSeed {
    id: string;
    vpcId: string;
    availabilityZone: string;
    cidrBlock: string;
    ipv6CidrBlock?: string;
    defaultForAz?: boolean;
    region?: string;
    tags?: Record<string, string>;
}

interface ImageSeed {
    id?: string;
    name: string;
    ownerId: string;
    ownerAlias?: string;
    architecture: string;
    creationDate: string;
    description?: string;
    rootDeviceName?: string;
    volumeSize?: number;
    region?: string;
}

/** `$REHEARSAL_AWS_STATE`: what the account holds. `vpcs`, `subnets`, `amis` may be seeded (beyond the defaults). */
interface Cloud {
    account: string;
    resources: Record<string, Stored>;
    vpcs?: VpcSeed[];
    subnets?: SubnetSeed[];
    amis?: ImageSeed[];
}

const CLOUD = new JsonFile<Cloud>("REHEARSAL_AWS_STATE", () => ({ account: ACCOUNT, resources: {} }), "the stand-in AWS account");

const key = (type: string, id: string) => `${type} ${id}`;
const ofType = (cloud: Cloud, type: string) => Object.values(cloud.resources).filter(r => r.type === type);
const find = (cloud: Cloud, type: string, id: unknown) => (typeof id === "string" ? cloud.resources[key(type, id)] : undefined);

let configuredRegion: string | undefined;

/** The region of a call: the resource's own `region` input (TF v6), else the provider's. */
function regionOf(inputs?: Props): string {
    const own = inputs?.region;
    if (typeof own === "string" && own) return own;
    if (configuredRegion) return configuredRegion;
    return fail(missingRegion());
}

function missingRegion(): string {
    return (
        'missing required configuration key "aws:region": The region where AWS operations will take place. Examples are us-east-1, us-west-2, etc.\n' +
        "Set a value using the command `pulumi config set aws:region <value>`."
    );
}

/** Where the stand-in's EC2 addresses point: the sandbox's target host. */
function address(what: string): string {
    const a = process.env.REHEARSAL_AWS_ADDRESS;
    if (!a)
        fail(
            `creating ${what}: $REHEARSAL_AWS_ADDRESS is not set: the stand-in AWS gives instances and Elastic IPs the sandbox target's address (publicIp, privateIp); set it to that address`,
        );
    return a;
}

const dashed = (ip: string) => ip.replace(/[.:]/g, "-");
const publicDns = (ip: string, region: string) =>
    region === "us-east-1" ? `ec2-${dashed(ip)}.compute-1.amazonaws.com` : `ec2-${dashed(ip)}.${region}.compute.amazonaws.com`;
const privateDns = (ip: string, region: string) =>
    region === "us-east-1" ? `ip-${dashed(ip)}.ec2.internal` : `ip-${dashed(ip)}.${region}.compute.internal`;
const ec2Arn = (region: string, what: string) => `arn:aws:ec2:${region}:${ACCOUNT}:${what}`;

function defaultVpc(region: string): VpcSeed {
    return { id: `vpc-0${digest(`vpc:${region}`)}`, cidrBlock: "172.31.0.0/16", default: true, region };
}

function vpcs(cloud: Cloud, region: string): VpcSeed[] {
    return [defaultVpc(region), ...(cloud.vpcs ?? []).filter(v => (v.region ?? region) === region)];
}

function subnets(cloud: Cloud, region: string): SubnetSeed[] {
    const vpc = defaultVpc(region).id;
    const defaults = ["a", "b", "c"].map((az, i) => ({
        id: `subnet-0${digest(`subnet:${region}${az}`)}`,
        vpcId: vpc,
        availabilityZone: `${region}${az}`,
        cidrBlock: `172.31.${i * 16}.0/20`,
        defaultForAz: true,
        region,
    }));
    return [...defaults, ...(cloud.subnets ?? []).filter(s => (s.region ?? region) === region)];
}

const defaultSecurityGroup = (vpcId: string) => `sg-0${digest(`sg:default:${vpcId}`)}`;

/** Public images the stand-in account can see: Canonical's Ubuntu and Amazon Linux, and any seeded `amis`. */
function images(cloud: Cloud, region: string): Required<ImageSeed>[] {
    const canonical = "099720109477";
    const ubuntu = (series: string, version: string, arch: string, date: string, ssd = "hvm-ssd-gp3") => ({
        name: `ubuntu/images/${ssd}/ubuntu-${series}-${version}-${arch}-server-${date}`,
        ownerId: canonical,
        ownerAlias: "",
        architecture: arch === "amd64" ? "x86_64" : "arm64",
        creationDate: `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T08:00:00.000Z`,
        description: `Canonical, Ubuntu, ${version}, ${arch} ${series} image`,
    });
    const builtIn: ImageSeed[] = [
        ubuntu("noble", "24.04", "amd64", "20250610"),
        ubuntu("noble", "24.04", "amd64", "20250821"),
        ubuntu("noble", "24.04", "arm64", "20250821"),
        ubuntu("jammy", "22.04", "amd64", "20250725", "hvm-ssd"),
        {
            name: "al2023-ami-2023.8.20250818.0-kernel-6.1-x86_64",
            ownerId: "137112412989",
            ownerAlias: "amazon",
            architecture: "x86_64",
            creationDate: "2025-08-18T20:00:00.000Z",
            description: "Amazon Linux 2023 AMI 2023.8.20250818.0 x86_64 HVM kernel-6.1",
        },
    ];
    return [...builtIn, ...(cloud.amis ?? [])]
        .filter(i => (i.region ?? region) === region)
        .map(i => ({
            id: i.id ?? `ami-0${digest(`ami:${region}:${i.name}`)}`,
            name: i.name,
            ownerId: i.ownerId,
            ownerAlias: i.ownerAlias ?? "",
            architecture: i.architecture,
            creationDate: i.creationDate,
            description: i.description ?? "",
            rootDeviceName: i.rootDeviceName ?? (i.name.startsWith("al2023") ? "/dev/xvda" : "/dev/sda1"),
            volumeSize: i.volumeSize ?? 8,
            region,
        }));
}

/** AWS filter values: `*` and `?` wildcards. */
const wildcard = (pattern: string) =>
    new RegExp(
        `^${pattern
            .split("")
            .map(c => (c === "*" ? ".*" : c === "?" ? "." : escapeRe(c)))
            .join("")}$`,
    );

interface Filter {
    name: string;
    values: string[];
}

function filterFailures(filters: unknown, prop = "filters"): provider.CheckFailure[] {
    if (filters === undefined || filters === null) return [];
    if (!Array.isArray(filters)) return [{ property: prop, reason: "filters must be a list of {name, values}" }];
    const failures: provider.CheckFailure[] = [];
    filters.forEach((f: Props, i) => {
        if (typeof f?.name !== "string" || !f.name)
            failures.push({ property: `${prop}[${i}].name`, reason: `Missing required property 'name'` });
        if (!Array.isArray(f?.values) || f.values.length === 0 || f.values.some(v => typeof v !== "string"))
            failures.push({ property: `${prop}[${i}].values`, reason: `'values' must be a non-empty list of strings` });
    });
    return failures;
}

/** Apply EC2 Describe* filters: `fields` maps a filter name to the value(s) of an item. */
function applyFilters<T>(items: T[], filters: Filter[] | undefined, fields: Record<string, (item: T) => unknown>): T[] {
    let out = items;
    for (const f of filters ?? []) {
        const tag = f.name.startsWith("tag:") ? f.name.slice(4) : undefined;
        const get = tag !== undefined ? (item: T) => ((item as Props).tags as Record<string, string> | undefined)?.[tag] : fields[f.name];
        if (!get) fail(`InvalidParameterValue: The filter '${f.name}' is invalid`);
        const res = f.values.map(wildcard);
        out = out.filter(item => {
            const v = get(item);
            const vs = Array.isArray(v) ? v : [v];
            return vs.some(x => x !== undefined && res.some(re => re.test(String(x))));
        });
    }
    return out;
}

// ----------------------------------------------------------------------------------------------------------
// Resources
// ----------------------------------------------------------------------------------------------------------

interface Ctx {
    urn: string;
    type: string;
    /** The inputs as the engine gave them (secret wrappers kept: they pass through to the outputs). */
    raw: Props;
    /** The same without secret wrappers. */
    ins: Props;
    cloud: Cloud;
    region: string;
    /** Update, refresh, delete: what the stand-in account holds (or the engine's state). */
    old?: Stored;
    id?: string;
}

interface AwsResource {
    spec: ResourceSpec;
    /** Regional (TF v6 `region`) or global (IAM). */
    global?: boolean;
    create(ctx: Ctx): { id: string; outputs: Props };
    /** Default: the old outputs with the new inputs and tagsAll. */
    update?(ctx: Ctx & { old: Stored }): Props;
    /** Checks before the delete and side effects on other resources. */
    delete?(ctx: Ctx & { old: Stored }): void;
    /** Outputs kept in the Pulumi state only (never in the account file): secrets AWS returns once. */
    secretOutputs?: string[];
}

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const tagsAll = (ins: Props) => ({ ...((ins.tags as Record<string, string> | undefined) ?? {}) });
const REGION_REPLACES = ["region"];

function oneOf(value: unknown, allowed: readonly string[], prop: string): provider.CheckFailure[] {
    if (value === undefined || value === null || value === UNKNOWN) return [];
    return allowed.includes(String(value))
        ? []
        : [{ property: prop, reason: `expected ${prop} to be one of [${allowed.join(" ")}], got ${String(value)}` }];
}

function ipv4Cidr(v: string): boolean {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(v);
    if (!m) return false;
    const octets = m.slice(1, 5).map(Number);
    const bits = Number(m[5]);
    if (octets.some(o => o > 255) || bits > 32) return false;
    const n = octets.reduce((a, o) => a * 256 + o, 0);
    return bits === 0 ? n === 0 : n % 2 ** (32 - bits) === 0;
}

const ipv6Cidr = (v: string) => /^[0-9a-fA-F:]+\/\d{1,3}$/.test(v) && v.includes(":");

/** Terraform's id.UniqueId(): `terraform-` + UTC time to 1/10000 s + an 8-hex counter. */
let uniqueCounter = 0;
function uniqueId(prefix = "terraform-"): string {
    const t = new Date()
        .toISOString()
        .replace(/[-:TZ]/g, "")
        .replace(".", "");
    return `${prefix}${t.slice(0, 14)}${t.slice(14, 17)}0${(++uniqueCounter).toString(16).padStart(8, "0")}`;
}

/** create.NamePrefixFromName: the prefix of a name made by PrefixedUniqueId, else "". */
function namePrefixFromName(name: string): string {
    const m = /^(.*)\d{18}[0-9a-f]{8}$/.exec(name);
    return m ? m[1]! : "";
}

function userDataHash(v: unknown): unknown {
    if (typeof v !== "string" || v === "" || /^[0-9a-f]{40}$/.test(v)) return v;
    return createHash("sha1").update(v).digest("hex");
}

function sesSmtpPasswordV4(secretKey: string, region: string): string {
    let sig = createHmac("sha256", `AWS4${secretKey}`).update("11111111").digest();
    for (const part of [region, "ses", "aws4_request", "SendRawEmail"]) sig = createHmac("sha256", sig).update(part).digest();
    return Buffer.concat([Buffer.from([0x04]), sig]).toString("base64");
}

const randomFrom = (alphabet: string, n: number) =>
    Array.from(randomBytes(n))
        .map(b => alphabet[b % alphabet.length])
        .join("");

function mustFind(ctx: Ctx, type: string, id: unknown, message: string): Stored {
    const r = find(ctx.cloud, type, id);
    if (!r) fail(message);
    return r;
}

const INSTANCE = "aws:ec2/instance:Instance";
const EIP = "aws:ec2/eip:Eip";
const EIP_ASSOCIATION = "aws:ec2/eipAssociation:EipAssociation";
const KEY_PAIR = "aws:ec2/keyPair:KeyPair";
const SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup";
const INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
const EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule";
const BUCKET = "aws:s3/bucket:Bucket";
const IAM_USER = "aws:iam/user:User";
const USER_POLICY = "aws:iam/userPolicy:UserPolicy";
const ACCESS_KEY = "aws:iam/accessKey:AccessKey";

/** The subnet an instance lands in: the given one, else the default VPC's subnet of its zone. */
function subnetFor(ctx: Ctx): SubnetSeed {
    const all = subnets(ctx.cloud, ctx.region);
    const given = str(ctx.ins.subnetId);
    if (given) {
        const s = all.find(x => x.id === given);
        if (!s) fail(`creating EC2 Instance: InvalidSubnetID.NotFound: The subnet ID '${given}' does not exist`);
        return s;
    }
    const az = str(ctx.ins.availabilityZone) ?? `${ctx.region}a`;
    const s = all.find(x => x.defaultForAz && x.availabilityZone === az);
    if (!s) fail(`creating EC2 Instance: InvalidParameterValue: Invalid availability zone: [${az}]`);
    return s;
}

/** A security group rule's source: which of its exclusive source properties is set. */
const RULE_SOURCES = ["cidrIpv4", "cidrIpv6", "prefixListId", "referencedSecurityGroupId"] as const;
const ruleSource = (ins: Props) => RULE_SOURCES.find(p => ins[p] !== undefined && ins[p] !== null);

function securityGroupRule(egress: boolean): AwsResource {
    const what = egress ? "EC2 Security Group Egress Rule" : "EC2 Security Group Ingress Rule";
    return {
        // internal/service/ec2/vpc_security_group_ingress_rule.go (shared by the egress rule): `security_group_id`
        // RequiresReplace; ModifyPlan replaces when the source type changes (cidr_ipv4 → cidr_ipv6, ...); every
        // other attribute is updated in place (ModifySecurityGroupRules). `region`: TF v6 enhanced region support.
        spec: {
            required: ["ipProtocol", "securityGroupId"],
            replaceOnChanges: ["securityGroupId", ...REGION_REPLACES],
            computed: ["region"],
            replaceIf: (olds, news) => {
                const [a, b] = [ruleSource(olds), ruleSource(news)];
                return a && b && a !== b ? [a, b] : [];
            },
            validate: ins => {
                const set = RULE_SOURCES.filter(p => ins[p] !== undefined && ins[p] !== null);
                const failures: provider.CheckFailure[] = [];
                if (set.length !== 1)
                    failures.push({
                        property: set[1] ?? "cidrIpv4",
                        reason: `Exactly one of these attributes must be configured: [cidrIpv4,cidrIpv6,prefixListId,referencedSecurityGroupId]`,
                    });
                if (typeof ins.cidrIpv4 === "string" && !ipv4Cidr(ins.cidrIpv4))
                    failures.push({ property: "cidrIpv4", reason: `"${ins.cidrIpv4}" is not a valid IPv4 CIDR network address` });
                if (typeof ins.cidrIpv6 === "string" && !ipv6Cidr(ins.cidrIpv6))
                    failures.push({ property: "cidrIpv6", reason: `"${ins.cidrIpv6}" is not a valid IPv6 CIDR network address` });
                for (const p of ["fromPort", "toPort"])
                    if (typeof ins[p] === "number" && ((ins[p] as number) < -1 || (ins[p] as number) > 65535))
                        failures.push({ property: p, reason: `expected ${p} to be in the range (-1 - 65535), got ${ins[p]}` });
                return failures;
            },
        },
        create: ctx => {
            const { ins } = ctx;
            mustFind(
                ctx,
                SECURITY_GROUP,
                ins.securityGroupId,
                `creating ${what}: InvalidGroup.NotFound: The security group '${ins.securityGroupId}' does not exist`,
            );
            if (ins.referencedSecurityGroupId)
                mustFind(
                    ctx,
                    SECURITY_GROUP,
                    ins.referencedSecurityGroupId,
                    `creating ${what}: InvalidGroup.NotFound: The security group '${ins.referencedSecurityGroupId}' does not exist`,
                );
            const protocol = String(ins.ipProtocol).toLowerCase();
            const numbered = { "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6" } as Record<string, string>;
            const proto = numbered[protocol] ?? protocol;
            if (!["tcp", "udp", "icmp", "icmpv6", "-1"].includes(proto) && !/^\d{1,3}$/.test(proto))
                fail(`creating ${what}: InvalidParameterValue: Invalid value '${ins.ipProtocol}' for IP protocol. Unknown protocol.`);
            if ((proto === "tcp" || proto === "udp") && (typeof ins.fromPort !== "number" || typeof ins.toPort !== "number"))
                fail(
                    `creating ${what}: InvalidParameterValue: Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange`,
                );
            if (typeof ins.fromPort === "number" && typeof ins.toPort === "number" && proto !== "icmp" && ins.fromPort > ins.toPort)
                fail(
                    `creating ${what}: InvalidParameterValue: Invalid port range: from port ${ins.fromPort} is greater than to port ${ins.toPort}`,
                );
            const type = egress ? EGRESS_RULE : INGRESS_RULE;
            const source = ruleSource(ins)!;
            const same = ofType(ctx.cloud, type).find(
                r =>
                    r.outputs.securityGroupId === ins.securityGroupId &&
                    String(r.outputs.ipProtocol).toLowerCase() === proto &&
                    r.outputs.fromPort === ins.fromPort &&
                    r.outputs.toPort === ins.toPort &&
                    r.outputs[source] === ins[source],
            );
            if (same)
                fail(
                    `creating ${what}: InvalidPermission.Duplicate: the specified rule "peer: ${ins[source]}, ${proto.toUpperCase()}, from port: ${ins.fromPort}, to port: ${ins.toPort}, ALLOW" already exists`,
                );
            const id = `sgr-0${hex(16)}`;
            return {
                id,
                outputs: {
                    ...ctx.raw,
                    arn: ec2Arn(ctx.region, `security-group-rule/${id}`),
                    securityGroupRuleId: id,
                    tagsAll: tagsAll(ins),
                    region: ctx.region,
                },
            };
        },
    };
}

/** Replace-on-change paths of aws_instance (see RESOURCES[INSTANCE]). */
const INSTANCE_REPLACES = [
    "ami",
    "associatePublicIpAddress",
    "availabilityZone",
    "cpuCoreCount",
    "cpuThreadsPerCore",
    "cpuOptions.amdSevSnp",
    "cpuOptions.coreCount",
    "cpuOptions.threadsPerCore",
    ...["deleteOnTermination", "deviceName", "encrypted", "iops", "kmsKeyId", "snapshotId", "throughput", "volumeSize", "volumeType"].map(
        p => `ebsBlockDevices[*].${p}`,
    ),
    "ebsOptimized",
    "enclaveOptions.enabled",
    "ephemeralBlockDevices",
    "hibernation",
    "hostId",
    "ipv6AddressCount",
    "ipv6Addresses",
    "keyName",
    "launchTemplate",
    ...["deleteOnTermination", "deviceIndex", "networkCardIndex", "networkInterfaceId"].map(p => `networkInterfaces[*].${p}`),
    "placementGroup",
    "placementPartitionNumber",
    "privateDnsNameOptions",
    "privateIp",
    "rootBlockDevice.encrypted",
    "rootBlockDevice.kmsKeyId",
    "securityGroups",
    "subnetId",
    "tenancy",
    ...REGION_REPLACES,
];

const RESOURCES: Record<string, AwsResource> = {
    [INSTANCE]: {
        // internal/service/ec2/ec2_instance.go (terraform-provider-aws, commit 0015dfcd): ForceNew on ami,
        // associate_public_ip_address, availability_zone, cpu_core_count, cpu_threads_per_core, cpu_options.*,
        // ebs_block_device.*, ebs_optimized, enclave_options.enabled, ephemeral_block_device, hibernation, host_id,
        // ipv6_address_count, ipv6_addresses, key_name, launch_template, network_interface.*, placement_group,
        // placement_partition_number, private_dns_name_options, private_ip, root_block_device.{encrypted,kms_key_id},
        // security_groups, subnet_id, tenancy; CustomizeDiff ForceNewIf user_data / user_data_base64 when
        // user_data_replace_on_change. instance_type, tags, vpc_security_group_ids, metadata_options, user_data,
        // root_block_device.volume_size/volume_type... update in place. Attributes added after that commit
        // (enablePrimaryIpv6, primaryNetworkInterface, instanceMarketOptions, placementGroupId,
        // secondaryNetworkInterfaces, forceDestroy) are not verified: treated as updatable.
        spec: {
            replaceOnChanges: INSTANCE_REPLACES,
            replaceIf: (_olds, news) => (news.userDataReplaceOnChange === true ? ["userData", "userDataBase64"] : []),
            computed: [
                ...[
                    "ami",
                    "associatePublicIpAddress",
                    "availabilityZone",
                    "capacityReservationSpecification",
                    "cpuCoreCount",
                    "cpuThreadsPerCore",
                ],
                ...[
                    "cpuOptions",
                    "disableApiStop",
                    "disableApiTermination",
                    "ebsBlockDevices",
                    "ebsOptimized",
                    "enablePrimaryIpv6",
                    "enclaveOptions",
                ],
                ...["ephemeralBlockDevices", "hostId", "hostResourceGroupArn", "iamInstanceProfile", "instanceInitiatedShutdownBehavior"],
                ...["instanceType", "ipv6AddressCount", "ipv6Addresses", "keyName", "maintenanceOptions", "metadataOptions", "monitoring"],
                ...[
                    "networkInterfaces",
                    "placementGroup",
                    "placementPartitionNumber",
                    "privateDnsNameOptions",
                    "privateIp",
                    "rootBlockDevice",
                ],
                ...[
                    "secondaryPrivateIps",
                    "securityGroups",
                    "subnetId",
                    "tenancy",
                    "userData",
                    "userDataBase64",
                    "vpcSecurityGroupIds",
                    "region",
                ],
            ],
            defaults: { getPasswordData: false, sourceDestCheck: true, userDataReplaceOnChange: false },
            equivalent: { userData: (a, b) => userDataHash(a) === userDataHash(b) },
            validate: ins => {
                const failures: provider.CheckFailure[] = [];
                if (ins.launchTemplate === undefined || ins.launchTemplate === null) {
                    if (ins.ami === undefined || ins.ami === null)
                        failures.push({ property: "ami", reason: `"ami": one of \`ami,launchTemplate\` must be specified` });
                    if (ins.instanceType === undefined || ins.instanceType === null)
                        failures.push({
                            property: "instanceType",
                            reason: `"instanceType": one of \`instanceType,launchTemplate\` must be specified`,
                        });
                }
                if (ins.userData != null && ins.userDataBase64 != null)
                    failures.push({ property: "userDataBase64", reason: `"userDataBase64": conflicts with userData` });
                if (ins.ipv6AddressCount != null && ins.ipv6Addresses != null)
                    failures.push({ property: "ipv6Addresses", reason: `"ipv6Addresses": conflicts with ipv6AddressCount` });
                if (typeof ins.userData === "string" && ins.userData.length > 16384)
                    failures.push({
                        property: "userData",
                        reason: `expected length of userData to be in the range (0 - 16384), got ${ins.userData.length}`,
                    });
                return failures;
            },
        },
        create: ctx => {
            const { ins, region } = ctx;
            const ip = address("EC2 Instance");
            if (ins.launchTemplate) fail("creating EC2 Instance: launchTemplate is not reproduced by the stand-in AWS");
            const image = images(ctx.cloud, region).find(i => i.id === ins.ami);
            if (!image) fail(`creating EC2 Instance: InvalidAMIID.NotFound: The image id '[${ins.ami}]' does not exist`);
            if (!/^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(String(ins.instanceType)))
                fail(`creating EC2 Instance: InvalidParameterValue: Invalid value '${ins.instanceType}' for InstanceType.`);
            const subnet = subnetFor(ctx);
            const groups = (ins.vpcSecurityGroupIds as string[] | undefined) ?? [defaultSecurityGroup(subnet.vpcId)];
            for (const sg of groups) {
                if (sg === defaultSecurityGroup(subnet.vpcId)) continue;
                const g = mustFind(
                    ctx,
                    SECURITY_GROUP,
                    sg,
                    `creating EC2 Instance: InvalidGroup.NotFound: The security group '${sg}' does not exist`,
                );
                if (g.outputs.vpcId !== subnet.vpcId)
                    fail(
                        `creating EC2 Instance: InvalidParameter: Security group ${sg} and subnet ${subnet.id} belong to different networks.`,
                    );
            }
            const keyName = str(ins.keyName);
            if (keyName && !find(ctx.cloud, KEY_PAIR, keyName))
                fail(`creating EC2 Instance: InvalidKeyPair.NotFound: The key pair '${keyName}' does not exist`);
            const count = typeof ins.ipv6AddressCount === "number" ? ins.ipv6AddressCount : 0;
            let ipv6 = (ins.ipv6Addresses as string[] | undefined) ?? [];
            if ((count > 0 || ipv6.length > 0) && !subnet.ipv6CidrBlock)
                fail(
                    `creating EC2 Instance: InvalidParameterCombination: subnet ${subnet.id} has no IPv6 CIDR block: the instance cannot get IPv6 addresses`,
                );
            if (count > 0 && ipv6.length === 0) {
                const given = process.env.REHEARSAL_AWS_ADDRESS6;
                const base = subnet.ipv6CidrBlock!.split("/")[0]!.replace(/::$/, "");
                ipv6 = Array.from({ length: count }, (_, i) => (i === 0 && given ? given : `${base}::${hex(4)}`));
            }
            const root = (ins.rootBlockDevice as Props | undefined) ?? {};
            const volumeSize = typeof root.volumeSize === "number" ? root.volumeSize : image.volumeSize;
            if (volumeSize < image.volumeSize)
                fail(
                    `creating EC2 Instance: InvalidBlockDeviceMapping: Volume of size ${volumeSize}GB is smaller than snapshot, expect size >= ${image.volumeSize}GB`,
                );
            const volumeType = str(root.volumeType) ?? "gp3";
            const encrypted = root.encrypted === true;
            const privateIp = str(ins.privateIp) ?? ip;
            const id = `i-0${hex(16)}`;
            const eni = `eni-0${hex(16)}`;
            const outputs: Props = {
                ...ctx.raw,
                ami: image.id,
                arn: ec2Arn(region, `instance/${id}`),
                associatePublicIpAddress: ins.associatePublicIpAddress ?? true,
                availabilityZone: subnet.availabilityZone,
                capacityReservationSpecification: { capacityReservationPreference: "open" },
                cpuOptions: { amdSevSnp: "", coreCount: 1, threadsPerCore: 2 },
                disableApiStop: ins.disableApiStop ?? false,
                disableApiTermination: ins.disableApiTermination ?? false,
                ebsBlockDevices: ins.ebsBlockDevices ?? [],
                ebsOptimized: ins.ebsOptimized ?? false,
                enablePrimaryIpv6: ins.enablePrimaryIpv6 ?? false,
                enclaveOptions: { enabled: false },
                ephemeralBlockDevices: ins.ephemeralBlockDevices ?? [],
                hostId: "",
                hostResourceGroupArn: "",
                iamInstanceProfile: ins.iamInstanceProfile ?? "",
                instanceInitiatedShutdownBehavior: ins.instanceInitiatedShutdownBehavior ?? "stop",
                instanceLifecycle: "",
                instanceState: "running",
                ipv6AddressCount: ipv6.length,
                ipv6Addresses: ipv6,
                keyName: keyName ?? "",
                maintenanceOptions: { autoRecovery: "default" },
                metadataOptions: {
                    httpEndpoint: "enabled",
                    httpProtocolIpv6: "disabled",
                    httpPutResponseHopLimit: 2,
                    httpTokens: "required",
                    instanceMetadataTags: "disabled",
                    ...((ctx.raw.metadataOptions as Props | undefined) ?? {}),
                },
                monitoring: ins.monitoring ?? false,
                networkInterfaces: [],
                outpostArn: "",
                passwordData: "",
                placementGroup: "",
                placementPartitionNumber: 0,
                primaryNetworkInterfaceId: eni,
                privateDns: privateDns(privateIp, region),
                privateDnsNameOptions: {
                    enableResourceNameDnsAAAARecord: false,
                    enableResourceNameDnsARecord: false,
                    hostnameType: "ip-name",
                },
                privateIp,
                publicDns: publicDns(ip, region),
                publicIp: ip,
                region,
                rootBlockDevice: {
                    deleteOnTermination: true,
                    ...((ctx.raw.rootBlockDevice as Props | undefined) ?? {}),
                    deviceName: image.rootDeviceName,
                    encrypted,
                    iops: volumeType === "gp3" ? 3000 : 100,
                    kmsKeyId: encrypted ? `arn:aws:kms:${region}:${ACCOUNT}:key/${randomUUID()}` : "",
                    throughput: volumeType === "gp3" ? 125 : 0,
                    volumeId: `vol-0${hex(16)}`,
                    volumeSize,
                    volumeType,
                },
                secondaryPrivateIps: [],
                securityGroups: [],
                spotInstanceRequestId: "",
                subnetId: subnet.id,
                tagsAll: tagsAll(ins),
                tenancy: ins.tenancy ?? "default",
                // ec2_instance.go: user_data's StateFunc keeps its SHA-1 in the state.
                userData: userDataHash(ctx.raw.userData),
                vpcSecurityGroupIds: groups,
            };
            return { id, outputs };
        },
        update: ctx => ({
            ...ctx.old.outputs,
            ...ctx.raw,
            userData: userDataHash(ctx.raw.userData ?? ctx.old.outputs.userData),
            metadataOptions: { ...((ctx.old.outputs.metadataOptions as Props) ?? {}), ...((ctx.raw.metadataOptions as Props) ?? {}) },
            rootBlockDevice: { ...((ctx.old.outputs.rootBlockDevice as Props) ?? {}), ...((ctx.raw.rootBlockDevice as Props) ?? {}) },
            tagsAll: tagsAll(ctx.ins),
        }),
        delete: ctx => {
            // Terminating an instance releases its Elastic IP associations.
            for (const a of ofType(ctx.cloud, EIP_ASSOCIATION).filter(a => a.outputs.instanceId === ctx.old.id)) {
                disassociate(ctx.cloud, a);
                delete ctx.cloud.resources[key(EIP_ASSOCIATION, a.id)];
            }
        },
    },

    [EIP]: {
        // internal/service/ec2/ec2_eip.go: ForceNew on address, domain, ipam_pool_id, network_border_group,
        // public_ipv4_pool; instance, network_interface, associate_with_private_ip, tags update in place.
        spec: {
            replaceOnChanges: ["address", "domain", "ipamPoolId", "networkBorderGroup", "publicIpv4Pool", ...REGION_REPLACES],
            computed: ["domain", "instance", "ipamPoolId", "networkBorderGroup", "networkInterface", "publicIpv4Pool", "region"],
            validate: ins => oneOf(ins.domain, ["vpc", "standard"], "domain"),
        },
        create: ctx => {
            const ip = address("EC2 EIP");
            if (ctx.ins.domain === "standard")
                fail("creating EC2 EIP: with the retirement of EC2-Classic standard domain EC2 EIPs are no longer supported");
            if (ctx.ins.instance || ctx.ins.networkInterface)
                fail("creating EC2 EIP: `instance` / `networkInterface` are not reproduced by the stand-in: use an EipAssociation");
            const id = `eipalloc-0${hex(16)}`;
            const outputs: Props = {
                ...ctx.raw,
                address: ctx.ins.address ?? "",
                allocationId: id,
                arn: ec2Arn(ctx.region, `elastic-ip/${id}`),
                associationId: "",
                carrierIp: "",
                customerOwnedIp: "",
                customerOwnedIpv4Pool: ctx.ins.customerOwnedIpv4Pool ?? "",
                domain: "vpc",
                instance: "",
                ipamPoolId: "",
                networkBorderGroup: ctx.region,
                networkInterface: "",
                // As the rehearsal needs it (a real unassociated EIP has no private address): the target's.
                privateDns: privateDns(ip, ctx.region),
                privateIp: ip,
                ptrRecord: "",
                publicDns: publicDns(ip, ctx.region),
                publicIp: ip,
                publicIpv4Pool: "amazon",
                region: ctx.region,
                tagsAll: tagsAll(ctx.ins),
            };
            return { id, outputs };
        },
        delete: ctx => {
            for (const a of ofType(ctx.cloud, EIP_ASSOCIATION).filter(a => a.outputs.allocationId === ctx.old.id))
                delete ctx.cloud.resources[key(EIP_ASSOCIATION, a.id)];
        },
    },

    [EIP_ASSOCIATION]: {
        // internal/service/ec2/ec2_eip_association.go: every argument ForceNew (allocation_id,
        // allow_reassociation, instance_id, network_interface_id, private_ip_address, public_ip); no Update.
        spec: {
            replaceOnChanges: [
                "allocationId",
                "allowReassociation",
                "instanceId",
                "networkInterfaceId",
                "privateIpAddress",
                "publicIp",
                ...REGION_REPLACES,
            ],
            computed: ["allocationId", "instanceId", "networkInterfaceId", "privateIpAddress", "publicIp", "region"],
        },
        create: ctx => {
            const { ins } = ctx;
            const eip = ins.allocationId
                ? mustFind(
                      ctx,
                      EIP,
                      ins.allocationId,
                      `creating EC2 EIP Association: InvalidAllocationID.NotFound: The allocation ID '${ins.allocationId}' does not exist`,
                  )
                : ofType(ctx.cloud, EIP).find(e => e.outputs.publicIp === ins.publicIp);
            if (!eip)
                fail(`creating EC2 EIP Association: InvalidParameterValue: one of allocationId, publicIp must name an existing Elastic IP`);
            if (!ins.instanceId)
                fail("creating EC2 EIP Association: instanceId is required by the stand-in (networkInterfaceId alone is not reproduced)");
            const instance = mustFind(
                ctx,
                INSTANCE,
                ins.instanceId,
                `creating EC2 EIP Association: InvalidInstanceID.NotFound: The instance ID '${ins.instanceId}' does not exist`,
            );
            if (eip.outputs.associationId && ins.allowReassociation !== true)
                fail(
                    `creating EC2 EIP Association: Resource.AlreadyAssociated: resource ${eip.id} is already associated with associate-id ${eip.outputs.associationId}`,
                );
            const id = `eipassoc-0${hex(16)}`;
            eip.outputs = {
                ...eip.outputs,
                associationId: id,
                instance: instance.id,
                networkInterface: instance.outputs.primaryNetworkInterfaceId,
                privateIp: instance.outputs.privateIp,
                privateDns: instance.outputs.privateDns,
            };
            instance.outputs = { ...instance.outputs, publicIp: eip.outputs.publicIp, publicDns: eip.outputs.publicDns };
            return {
                id,
                outputs: {
                    ...ctx.raw,
                    allocationId: eip.id,
                    instanceId: instance.id,
                    networkInterfaceId: instance.outputs.primaryNetworkInterfaceId,
                    privateIpAddress: instance.outputs.privateIp,
                    publicIp: eip.outputs.publicIp,
                    region: ctx.region,
                },
            };
        },
        update: ctx => ({ ...ctx.old.outputs, ...ctx.raw }),
        delete: ctx => disassociate(ctx.cloud, ctx.old),
    },

    [KEY_PAIR]: {
        // internal/service/ec2/ec2_key_pair.go: ForceNew on key_name, key_name_prefix, public_key (StateFunc:
        // trimmed); only tags update. Not autonamed by pulumi-aws (no `name` input): without key_name, Terraform's
        // create.Name gives `terraform-<timestamp><counter>`.
        spec: {
            required: ["publicKey"],
            replaceOnChanges: ["keyName", "keyNamePrefix", "publicKey", ...REGION_REPLACES],
            computed: ["keyName", "keyNamePrefix", "region"],
            equivalent: { publicKey: (a, b) => String(a).trim() === String(b).trim() },
            validate: ins =>
                ins.keyName != null && ins.keyNamePrefix != null
                    ? [{ property: "keyNamePrefix", reason: `"keyNamePrefix": conflicts with keyName` }]
                    : [],
        },
        create: ctx => {
            const { ins } = ctx;
            const keyName = str(ins.keyName) ?? (ins.keyNamePrefix ? uniqueId(String(ins.keyNamePrefix)) : uniqueId());
            const publicKey = String(ins.publicKey).trim();
            const m = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(?:256|384|521)) ([A-Za-z0-9+/]+={0,2})(?: .*)?$/.exec(publicKey);
            if (!m) fail(`importing EC2 Key Pair (${keyName}): InvalidKey.Format: Key is not in valid OpenSSH public key format`);
            if (find(ctx.cloud, KEY_PAIR, keyName))
                fail(`importing EC2 Key Pair (${keyName}): InvalidKeyPair.Duplicate: The keypair already exists`);
            const blob = Buffer.from(m[2]!, "base64");
            const keyType = m[1] === "ssh-rsa" ? "rsa" : m[1] === "ssh-ed25519" ? "ed25519" : "ecdsa";
            const fingerprint =
                keyType === "rsa"
                    ? createHash("md5")
                          .update(blob)
                          .digest("hex")
                          .replace(/(..)(?!$)/g, "$1:")
                    : createHash("sha256").update(blob).digest("base64").replace(/=+$/, "") + "=";
            return {
                id: keyName,
                outputs: {
                    ...ctx.raw,
                    publicKey,
                    arn: ec2Arn(ctx.region, `key-pair/${keyName}`),
                    fingerprint,
                    keyName,
                    keyNamePrefix: namePrefixFromName(keyName),
                    keyPairId: `key-0${hex(16)}`,
                    keyType,
                    region: ctx.region,
                    tagsAll: tagsAll(ins),
                },
            };
        },
        update: ctx => ({ ...ctx.old.outputs, tags: ctx.raw.tags, tagsAll: tagsAll(ctx.ins) }),
    },

    [SECURITY_GROUP]: {
        // internal/service/ec2/vpc_security_group.go: ForceNew on description, name, name_prefix, vpc_id;
        // ingress, egress, tags, revoke_rules_on_delete update. pulumi-aws provider/resources.go: description
        // defaults to "Managed by Pulumi"; `name` is autonamed (provider/autonaming.go).
        spec: {
            replaceOnChanges: ["description", "name", "namePrefix", "vpcId", ...REGION_REPLACES],
            computed: ["egress", "ingress", "name", "namePrefix", "vpcId", "region"],
            defaults: { description: "Managed by Pulumi", revokeRulesOnDelete: false },
            autoname: { property: "name", maxLength: 255, unless: ["namePrefix"] },
            validate: ins => {
                const failures: provider.CheckFailure[] = [];
                for (const p of ["name", "namePrefix"])
                    if (typeof ins[p] === "string" && (ins[p] as string).startsWith("sg-"))
                        failures.push({ property: p, reason: "cannot begin with sg-" });
                if (typeof ins.description === "string" && ins.description.length > 255)
                    failures.push({ property: "description", reason: `expected length of description to be in the range (0 - 255)` });
                return failures;
            },
        },
        create: ctx => {
            const { ins, region } = ctx;
            const vpcId = str(ins.vpcId) ?? defaultVpc(region).id;
            if (!vpcs(ctx.cloud, region).some(v => v.id === vpcId))
                fail(`creating Security Group (${ins.name}): InvalidVpcID.NotFound: The vpc ID '${vpcId}' does not exist`);
            const name = str(ins.name) ?? uniqueId(String(ins.namePrefix ?? "terraform-"));
            if (ofType(ctx.cloud, SECURITY_GROUP).some(g => g.outputs.name === name && g.outputs.vpcId === vpcId))
                fail(
                    `creating Security Group (${name}): InvalidGroup.Duplicate: The security group '${name}' already exists for VPC '${vpcId}'`,
                );
            if (/[^\x20-\x7e]/.test(String(ins.description)))
                fail(
                    `creating Security Group (${name}): InvalidParameterValue: Value for parameter GroupDescription is invalid. Character sets beyond ASCII are not supported.`,
                );
            const id = `sg-0${hex(16)}`;
            return {
                id,
                outputs: {
                    ...ctx.raw,
                    arn: ec2Arn(region, `security-group/${id}`),
                    egress: ins.egress ?? [],
                    ingress: ins.ingress ?? [],
                    name,
                    namePrefix: namePrefixFromName(name),
                    ownerId: ACCOUNT,
                    region,
                    tagsAll: tagsAll(ins),
                    vpcId,
                },
            };
        },
        delete: ctx => {
            const users = ofType(ctx.cloud, INSTANCE).filter(i => ((i.outputs.vpcSecurityGroupIds as string[]) ?? []).includes(ctx.old.id));
            if (users.length)
                fail(
                    `deleting Security Group (${ctx.old.id}): DependencyViolation: resource ${ctx.old.id} has a dependent object (instance ${users[0]!.id})`,
                );
            for (const t of [INGRESS_RULE, EGRESS_RULE])
                for (const r of ofType(ctx.cloud, t).filter(r => r.outputs.securityGroupId === ctx.old.id))
                    delete ctx.cloud.resources[key(t, r.id)];
        },
    },

    [INGRESS_RULE]: securityGroupRule(false),
    [EGRESS_RULE]: securityGroupRule(true),

    [BUCKET]: {
        // internal/service/s3/bucket.go: ForceNew on bucket, bucket_prefix, object_lock_enabled (and
        // object_lock_configuration.object_lock_enabled); force_destroy defaults to false. pulumi-aws
        // provider/resources.go: `bucket` is autonamed, lower-cased, at most 63 characters
        // (tfbridge.AutoNameTransform("bucket", 63, strings.ToLower)).
        spec: {
            replaceOnChanges: [
                "bucket",
                "bucketPrefix",
                "objectLockEnabled",
                "objectLockConfiguration.objectLockEnabled",
                ...REGION_REPLACES,
            ],
            computed: ["bucket", "bucketPrefix", "objectLockEnabled", "objectLockConfiguration", "region", "acl", "hostedZoneId"],
            defaults: { forceDestroy: false },
            autoname: { property: "bucket", maxLength: 63, lower: true, unless: ["bucketPrefix"] },
            validate: ins =>
                typeof ins.bucket === "string" && ins.bucket.length > 63
                    ? [{ property: "bucket", reason: `expected length of bucket to be in the range (0 - 63), got ${ins.bucket}` }]
                    : [],
        },
        create: ctx => {
            const { ins, region } = ctx;
            const name = str(ins.bucket) ?? uniqueId(String(ins.bucketPrefix)).toLowerCase();
            const why =
                name.length < 3 || name.length > 63
                    ? "length must be between 3 and 63 characters"
                    : !/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name)
                      ? "only lowercase alphanumeric characters, dots and hyphens allowed, beginning and ending with a letter or digit"
                      : /\.\.|^\d+\.\d+\.\d+\.\d+$/.test(name)
                        ? "must not contain two adjacent periods or be formatted as an IP address"
                        : undefined;
            if (why) fail(`validating S3 Bucket (${name}) name: ${why}`);
            if (find(ctx.cloud, BUCKET, name))
                fail(
                    `creating S3 Bucket (${name}): BucketAlreadyOwnedByYou: Your previous request to create the named bucket succeeded and you already own it.`,
                );
            return {
                id: name,
                outputs: {
                    ...ctx.raw,
                    accelerationStatus: "",
                    acl: "",
                    arn: `arn:aws:s3:::${name}`,
                    bucket: name,
                    bucketDomainName: `${name}.s3.amazonaws.com`,
                    bucketPrefix: ins.bucketPrefix ?? "",
                    bucketRegion: region,
                    bucketRegionalDomainName: `${name}.s3.${region}.amazonaws.com`,
                    hostedZoneId: HOSTED_ZONES[region] ?? "Z3AQBSTGFYJSTF",
                    objectLockEnabled: ins.objectLockEnabled ?? false,
                    region,
                    requestPayer: "BucketOwner",
                    tagsAll: tagsAll(ins),
                },
            };
        },
        delete: ctx => {
            for (const r of Object.values(ctx.cloud.resources))
                if (r.type.startsWith("aws:s3/bucket") && r.type !== BUCKET && r.outputs.bucket === ctx.old.id)
                    delete ctx.cloud.resources[key(r.type, r.id)];
        },
    },

    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": bucketConfig(
        // internal/service/s3/bucket_public_access_block.go: ForceNew on bucket; the four booleans default to false.
        { required: ["bucket"], replaceOnChanges: ["bucket", ...REGION_REPLACES], computed: ["region"] },
        "Public Access Block",
        { blockPublicAcls: false, blockPublicPolicy: false, ignorePublicAcls: false, restrictPublicBuckets: false },
    ),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": bucketConfig(
        // internal/service/s3/bucket_ownership_controls.go: ForceNew on bucket; rule updates.
        {
            required: ["bucket", "rule"],
            replaceOnChanges: ["bucket", ...REGION_REPLACES],
            computed: ["region"],
            validate: ins =>
                oneOf(
                    (ins.rule as Props | undefined)?.objectOwnership,
                    ["BucketOwnerPreferred", "ObjectWriter", "BucketOwnerEnforced"],
                    "rule.objectOwnership",
                ),
        },
        "Ownership Controls",
    ),
    "aws:s3/bucketVersioning:BucketVersioning": bucketConfig(
        // internal/service/s3/bucket_versioning.go: ForceNew on bucket, expected_bucket_owner; versioning_configuration,
        // mfa update (a status going back to "Disabled" is refused by its CustomizeDiff: not reproduced).
        {
            required: ["bucket", "versioningConfiguration"],
            replaceOnChanges: ["bucket", "expectedBucketOwner", ...REGION_REPLACES],
            computed: ["region"],
            validate: ins =>
                oneOf(
                    (ins.versioningConfiguration as Props | undefined)?.status,
                    ["Enabled", "Suspended", "Disabled"],
                    "versioningConfiguration.status",
                ),
        },
        "Versioning",
    ),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": bucketConfig(
        // internal/service/s3/bucket_server_side_encryption_configuration.go: ForceNew on bucket, expected_bucket_owner.
        {
            required: ["bucket", "rules"],
            replaceOnChanges: ["bucket", "expectedBucketOwner", ...REGION_REPLACES],
            computed: ["region"],
            validate: ins =>
                ((ins.rules as Props[] | undefined) ?? []).flatMap((r, i) =>
                    oneOf(
                        (r.applyServerSideEncryptionByDefault as Props | undefined)?.sseAlgorithm,
                        ["AES256", "aws:kms", "aws:kms:dsse"],
                        `rules[${i}].applyServerSideEncryptionByDefault.sseAlgorithm`,
                    ),
                ),
        },
        "Server-side Encryption Configuration",
    ),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": bucketConfig(
        // internal/service/s3/bucket_lifecycle_configuration.go (Plugin Framework): RequiresReplace on bucket,
        // expected_bucket_owner; rule.id and rule.status required; transition_default_minimum_object_size computed.
        {
            required: ["bucket"],
            replaceOnChanges: ["bucket", "expectedBucketOwner", ...REGION_REPLACES],
            computed: ["expectedBucketOwner", "transitionDefaultMinimumObjectSize", "region"],
            validate: ins =>
                ((ins.rules as Props[] | undefined) ?? []).flatMap((r, i) => [
                    ...(typeof r.id === "string" && r.id.length >= 1 && r.id.length <= 255
                        ? []
                        : [{ property: `rules[${i}].id`, reason: "Missing required property 'id' (1 to 255 characters)" }]),
                    ...(r.status === undefined
                        ? [{ property: `rules[${i}].status`, reason: "Missing required property 'status'" }]
                        : oneOf(r.status, ["Enabled", "Disabled"], `rules[${i}].status`)),
                ]),
        },
        "Lifecycle Configuration",
        {},
        ins => ({
            expectedBucketOwner: ins.expectedBucketOwner ?? "",
            transitionDefaultMinimumObjectSize: ins.transitionDefaultMinimumObjectSize ?? "all_storage_classes_128K",
        }),
    ),

    [IAM_USER]: {
        // internal/service/iam/user.go: no ForceNew (name and path change through UpdateUser, permissions_boundary
        // through Put/DeleteUserPermissionsBoundary); force_destroy defaults to false, path to "/". pulumi-aws:
        // `name` autonamed. IAM is global (no `region`).
        global: true,
        spec: {
            replaceOnChanges: [],
            defaults: { forceDestroy: false, path: "/" },
            autoname: { property: "name", maxLength: 255 },
            validate: ins =>
                typeof ins.name === "string" && !/^[0-9A-Za-z=,.@\-_+]+$/.test(ins.name)
                    ? [
                          {
                              property: "name",
                              reason: "must only contain alphanumeric characters, hyphens, underscores, commas, periods, @ symbols, plus and equals signs",
                          },
                      ]
                    : [],
        },
        create: ctx => {
            const { ins } = ctx;
            const name = String(ins.name);
            const p = String(ins.path);
            if (name.length > 64)
                fail(
                    `creating IAM User (${name}): ValidationError: 1 validation error detected: Value at 'userName' failed to satisfy constraint: Member must have length less than or equal to 64`,
                );
            if (!/^\/([\x21-\x7e]+\/)?$/.test(p))
                fail(
                    `creating IAM User (${name}): ValidationError: The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.`,
                );
            if (find(ctx.cloud, IAM_USER, name))
                fail(`creating IAM User (${name}): EntityAlreadyExists: User with name ${name} already exists.`);
            return {
                id: name,
                outputs: {
                    ...ctx.raw,
                    arn: `arn:aws:iam::${ACCOUNT}:user${p}${name}`,
                    tagsAll: tagsAll(ins),
                    uniqueId: `AIDA${randomFrom("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 17)}`,
                },
            };
        },
        update: ctx => {
            const { ins, old } = ctx;
            if (ins.name !== old.outputs.name) {
                if (find(ctx.cloud, IAM_USER, ins.name))
                    fail(`updating IAM User (${old.id}): EntityAlreadyExists: User with name ${ins.name} already exists.`);
                fail(`updating IAM User (${old.id}): renaming a user changes its id: not reproduced by the stand-in`);
            }
            return { ...old.outputs, ...ctx.raw, arn: `arn:aws:iam::${ACCOUNT}:user${ins.path}${ins.name}`, tagsAll: tagsAll(ins) };
        },
        delete: ctx => {
            if (ofType(ctx.cloud, USER_POLICY).some(p => p.outputs.user === ctx.old.id))
                fail(`deleting IAM User (${ctx.old.id}): DeleteConflict: Cannot delete entity, must delete policies first.`);
            const keys = ofType(ctx.cloud, ACCESS_KEY).filter(k => k.outputs.user === ctx.old.id);
            if (keys.length && ctx.old.outputs.forceDestroy !== true)
                fail(`deleting IAM User (${ctx.old.id}): DeleteConflict: Cannot delete entity, must delete access keys first.`);
            for (const k of keys) delete ctx.cloud.resources[key(ACCESS_KEY, k.id)];
        },
    },

    [USER_POLICY]: {
        // internal/service/iam/user_policy.go: ForceNew on name, name_prefix, user; policy updates (equivalent
        // policy documents are no diff: SuppressEquivalentPolicyDiffs). pulumi-aws: `name` autonamed.
        global: true,
        spec: {
            required: ["policy", "user"],
            replaceOnChanges: ["name", "namePrefix", "user"],
            computed: ["name", "namePrefix"],
            autoname: { property: "name", maxLength: 255, unless: ["namePrefix"] },
            equivalent: { policy: (a, b) => jsonEqual(a, b) },
            validate: ins => {
                if (typeof ins.policy !== "string" || ins.policy === UNKNOWN) return [];
                try {
                    const doc = JSON.parse(ins.policy) as unknown;
                    if (!isObject(doc)) throw new Error("not an object");
                    return [];
                } catch {
                    return [{ property: "policy", reason: `"policy" contains an invalid JSON policy` }];
                }
            },
        },
        create: ctx => {
            const { ins } = ctx;
            mustFind(
                ctx,
                IAM_USER,
                ins.user,
                `putting IAM User (${ins.user}) Policy (${ins.name}): NoSuchEntity: The user with name ${ins.user} cannot be found.`,
            );
            const doc = JSON.parse(String(ins.policy)) as Props;
            if (!doc.Statement)
                fail(`putting IAM User (${ins.user}) Policy (${ins.name}): MalformedPolicyDocument: Syntax errors in policy.`);
            const name = str(ins.name) ?? uniqueId(String(ins.namePrefix));
            return { id: `${ins.user}:${name}`, outputs: { ...ctx.raw, name, namePrefix: namePrefixFromName(name) } };
        },
    },

    [ACCESS_KEY]: {
        // internal/service/iam/access_key.go: ForceNew on pgp_key, user; status (default "Active") updates.
        // `secret` and `ses_smtp_password_v4` are Sensitive: secret outputs (pulumi-aws additionalSecretOutputs).
        global: true,
        secretOutputs: ["secret", "sesSmtpPasswordV4"],
        spec: {
            required: ["user"],
            replaceOnChanges: ["pgpKey", "user"],
            defaults: { status: "Active" },
            validate: ins => oneOf(ins.status, ["Active", "Inactive", "Expired"], "status"),
        },
        create: ctx => {
            const { ins } = ctx;
            mustFind(
                ctx,
                IAM_USER,
                ins.user,
                `creating IAM Access Key (${ins.user}): NoSuchEntity: The user with name ${ins.user} cannot be found.`,
            );
            if (ins.pgpKey) fail(`creating IAM Access Key (${ins.user}): pgpKey (PGP-encrypted secrets) is not reproduced by the stand-in`);
            if (ofType(ctx.cloud, ACCESS_KEY).filter(k => k.outputs.user === ins.user).length >= 2)
                fail(`creating IAM Access Key (${ins.user}): LimitExceeded: Cannot exceed quota for AccessKeysPerUser: 2`);
            const id = `AKIA${randomFrom("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)}`;
            const secretKey = randomFrom("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 40);
            // SES SMTP passwords are derived in the region of the provider.
            const smtp = sesSmtpPasswordV4(secretKey, configuredRegion ?? "us-east-1");
            return {
                id,
                outputs: {
                    ...ctx.raw,
                    createDate: now(),
                    secret: secret(secretKey),
                    sesSmtpPasswordV4: secret(smtp),
                    status: ins.status ?? "Active",
                },
            };
        },
    },
};

const HOSTED_ZONES: Record<string, string> = {
    "us-east-1": "Z3AQBSTGFYJSTF",
    "us-east-2": "Z2O1EMRO9K5GLX",
    "us-west-1": "Z2F56UZL2M1ACD",
    "us-west-2": "Z3BJ6K6RIION7M",
    "eu-west-1": "Z1BKCTXD74EZPE",
    "eu-west-2": "Z3GKZC51ZF0DB4",
    "eu-west-3": "Z3R1K369G5AVDG",
    "eu-central-1": "Z21DNDUVLTQW6Q",
    "eu-north-1": "Z3BAZG2TWCNX0D",
};

function jsonEqual(a: unknown, b: unknown): boolean {
    try {
        const norm = (v: unknown): unknown =>
            Array.isArray(v)
                ? v.map(norm)
                : isObject(v)
                  ? Object.fromEntries(
                        Object.keys(v)
                            .sort()
                            .map(k => [k, norm(v[k])]),
                    )
                  : v;
        return JSON.stringify(norm(JSON.parse(String(a)))) === JSON.stringify(norm(JSON.parse(String(b))));
    } catch {
        return a === b;
    }
}

/** An S3 bucket sub-resource (its id is the bucket's name; the bucket must exist). */
function bucketConfig(
    spec: ResourceSpec,
    what: string,
    defaults: Props = {},
    computedOutputs: (ins: Props) => Props = () => ({}),
): AwsResource {
    return {
        spec: { ...spec, defaults: { ...defaults, ...(spec.defaults ?? {}) } },
        create: ctx => {
            const bucket = String(ctx.ins.bucket);
            mustFind(ctx, BUCKET, bucket, `creating S3 Bucket (${bucket}) ${what}: NoSuchBucket: The specified bucket does not exist`);
            const id = ctx.ins.expectedBucketOwner ? `${bucket},${ctx.ins.expectedBucketOwner}` : bucket;
            return { id, outputs: { ...ctx.raw, ...computedOutputs(ctx.ins), region: ctx.region } };
        },
    };
}

function disassociate(cloud: Cloud, association: Stored): void {
    const eip = find(cloud, EIP, association.outputs.allocationId);
    if (eip && eip.outputs.associationId === association.id)
        eip.outputs = { ...eip.outputs, associationId: "", instance: "", networkInterface: "" };
}

// ----------------------------------------------------------------------------------------------------------
// Functions (invokes)
// ----------------------------------------------------------------------------------------------------------

type Invoke = (args: Props, cloud: Cloud) => Props;

const OWNER_ALIASES = ["amazon", "aws-marketplace", "aws-backup-vault", "self"];

const FUNCTIONS: Record<string, { failures?(args: Props): provider.CheckFailure[]; run: Invoke }> = {
    // internal/service/ec2/ec2_ami_data_source.go: filters {name, values} required; owners are account ids or
    // aliases; no image → "Your query returned no results..."; several without most_recent → "...more than one".
    "aws:ec2/getAmi:getAmi": {
        failures: args => [
            ...filterFailures(args.filters),
            ...(Array.isArray(args.owners) ? (args.owners as unknown[]) : []).flatMap((o, i) =>
                typeof o === "string" && (/^\d{12}$/.test(o) || OWNER_ALIASES.includes(o))
                    ? []
                    : [
                          {
                              property: `owners[${i}]`,
                              reason: `invalid owner ${JSON.stringify(o)}: an AWS account id (12 digits) or one of ${OWNER_ALIASES.join(", ")}`,
                          },
                      ],
            ),
        ],
        run: (args, cloud) => {
            const region = regionOf(args);
            let found = images(cloud, region);
            const owners = (args.owners as string[] | undefined) ?? [];
            if (owners.length)
                found = found.filter(i =>
                    owners.some(o => (o === "self" ? i.ownerId === ACCOUNT : o === i.ownerId || (o === i.ownerAlias && o !== ""))),
                );
            found = applyFilters(found, args.filters as Filter[] | undefined, {
                name: i => i.name,
                "image-id": i => i.id,
                "owner-id": i => i.ownerId,
                "owner-alias": i => i.ownerAlias,
                architecture: i => i.architecture,
                "virtualization-type": () => "hvm",
                "root-device-type": () => "ebs",
                "root-device-name": i => i.rootDeviceName,
                state: () => "available",
                "image-type": () => "machine",
                "is-public": () => "true",
                "platform-details": () => "Linux/UNIX",
                description: i => i.description,
            });
            if (typeof args.nameRegex === "string") found = found.filter(i => new RegExp(String(args.nameRegex)).test(i.name));
            if (found.length === 0) fail("Your query returned no results. Please change your search criteria and try again.");
            if (found.length > 1 && args.mostRecent !== true)
                fail(
                    "Your query returned more than one result. Please try a more specific search criteria, or set `most_recent` attribute to true.",
                );
            const image = [...found].sort((a, b) => b.creationDate.localeCompare(a.creationDate))[0]!;
            return {
                ...args,
                id: image.id,
                imageId: image.id,
                arn: `arn:aws:ec2:${region}::image/${image.id}`,
                architecture: image.architecture,
                blockDeviceMappings: [
                    {
                        deviceName: image.rootDeviceName,
                        ebs: {
                            delete_on_termination: "true",
                            encrypted: "false",
                            iops: "3000",
                            snapshot_id: `snap-0${digest(`snap:${image.id}`)}`,
                            throughput: "125",
                            volume_size: String(image.volumeSize),
                            volume_type: "gp3",
                        },
                        noDevice: "",
                        virtualName: "",
                    },
                ],
                bootMode: "",
                creationDate: image.creationDate,
                deprecationTime: "",
                description: image.description,
                enaSupport: true,
                hypervisor: "xen",
                imageLocation: `${image.ownerAlias || image.ownerId}/${image.name}`,
                imageOwnerAlias: image.ownerAlias,
                imageType: "machine",
                imdsSupport: "",
                includeDeprecated: args.includeDeprecated ?? false,
                kernelId: "",
                mostRecent: args.mostRecent ?? false,
                name: image.name,
                ownerId: image.ownerId,
                platform: "",
                platformDetails: "Linux/UNIX",
                productCodes: [],
                public: true,
                ramdiskId: "",
                region,
                rootDeviceName: image.rootDeviceName,
                rootDeviceType: "ebs",
                rootSnapshotId: `snap-0${digest(`snap:${image.id}`)}`,
                sriovNetSupport: "simple",
                state: "available",
                stateReason: { code: "UNSET", message: "UNSET" },
                tags: {},
                tpmSupport: "",
                usageOperation: "RunInstances",
                virtualizationType: "hvm",
            };
        },
    },
    // internal/service/ec2/vpc_data_source.go: exactly one VPC, by id, default, cidr_block, state, filter, tags.
    "aws:ec2/getVpc:getVpc": {
        failures: args => filterFailures(args.filters),
        run: (args, cloud) => {
            const region = regionOf(args);
            let found = vpcs(cloud, region);
            if (args.id !== undefined) found = found.filter(v => v.id === args.id);
            if (args.default !== undefined) found = found.filter(v => !!v.default === args.default);
            if (args.cidrBlock !== undefined) found = found.filter(v => v.cidrBlock === args.cidrBlock);
            if (args.state !== undefined) found = found.filter(() => args.state === "available");
            for (const [k, v] of Object.entries((args.tags as Record<string, string> | undefined) ?? {}))
                found = found.filter(x => x.tags?.[k] === v);
            found = applyFilters(found, args.filters as Filter[] | undefined, {
                "vpc-id": v => v.id,
                "is-default": v => String(!!v.default),
                cidr: v => v.cidrBlock,
                "cidr-block-association.cidr-block": v => v.cidrBlock,
                state: () => "available",
                "owner-id": () => ACCOUNT,
            });
            if (found.length === 0) fail("no matching EC2 VPC found");
            if (found.length > 1) fail("multiple EC2 VPCs matched; use additional constraints to reduce matches to a single EC2 VPC");
            const v = found[0]!;
            return {
                ...args,
                id: v.id,
                arn: ec2Arn(region, `vpc/${v.id}`),
                cidrBlock: v.cidrBlock,
                cidrBlockAssociations: [
                    { associationId: `vpc-cidr-assoc-0${digest(`assoc:${v.id}`)}`, cidrBlock: v.cidrBlock, state: "associated" },
                ],
                default: !!v.default,
                dhcpOptionsId: `dopt-0${digest(`dopt:${region}`)}`,
                enableDnsHostnames: !!v.default,
                enableDnsSupport: true,
                enableNetworkAddressUsageMetrics: false,
                instanceTenancy: "default",
                ipv6AssociationId: "",
                ipv6CidrBlock: "",
                mainRouteTableId: `rtb-0${digest(`rtb:${v.id}`)}`,
                ownerId: ACCOUNT,
                region,
                state: "available",
                tags: v.tags ?? {},
            };
        },
    },
    // internal/service/ec2/vpc_subnet_data_source.go: exactly one subnet, by id, vpc_id, availability_zone,
    // default_for_az, cidr_block, state, filter, tags.
    "aws:ec2/getSubnet:getSubnet": {
        failures: args => filterFailures(args.filters),
        run: (args, cloud) => {
            const region = regionOf(args);
            let found = subnets(cloud, region);
            if (args.id !== undefined) found = found.filter(s => s.id === args.id);
            if (args.vpcId !== undefined) found = found.filter(s => s.vpcId === args.vpcId);
            if (args.availabilityZone !== undefined) found = found.filter(s => s.availabilityZone === args.availabilityZone);
            if (args.defaultForAz !== undefined) found = found.filter(s => !!s.defaultForAz === args.defaultForAz);
            if (args.cidrBlock !== undefined) found = found.filter(s => s.cidrBlock === args.cidrBlock);
            for (const [k, v] of Object.entries((args.tags as Record<string, string> | undefined) ?? {}))
                found = found.filter(x => x.tags?.[k] === v);
            found = applyFilters(found, args.filters as Filter[] | undefined, {
                "subnet-id": s => s.id,
                "vpc-id": s => s.vpcId,
                "availability-zone": s => s.availabilityZone,
                "default-for-az": s => String(!!s.defaultForAz),
                "cidr-block": s => s.cidrBlock,
                state: () => "available",
            });
            if (found.length === 0) fail("no matching EC2 Subnet found");
            if (found.length > 1) fail("multiple EC2 Subnets matched; use additional constraints to reduce matches to a single EC2 Subnet");
            const s = found[0]!;
            return {
                ...args,
                id: s.id,
                arn: ec2Arn(region, `subnet/${s.id}`),
                assignIpv6AddressOnCreation: false,
                availabilityZone: s.availabilityZone,
                availabilityZoneId: `use1-az${"abc".indexOf(s.availabilityZone.slice(-1)) + 1}`,
                availableIpAddressCount: 4091,
                cidrBlock: s.cidrBlock,
                customerOwnedIpv4Pool: "",
                defaultForAz: !!s.defaultForAz,
                enableDns64: false,
                enableResourceNameDnsARecordOnLaunch: false,
                enableResourceNameDnsAaaaRecordOnLaunch: false,
                ipv6CidrBlock: s.ipv6CidrBlock ?? "",
                ipv6CidrBlockAssociationId: s.ipv6CidrBlock ? `subnet-cidr-assoc-0${digest(`assoc6:${s.id}`)}` : "",
                ipv6Native: false,
                mapCustomerOwnedIpOnLaunch: false,
                mapPublicIpOnLaunch: !!s.defaultForAz,
                outpostArn: "",
                ownerId: ACCOUNT,
                privateDnsHostnameTypeOnLaunch: "ip-name",
                region,
                state: "available",
                tags: s.tags ?? {},
                vpcId: s.vpcId,
            };
        },
    },
};

// ----------------------------------------------------------------------------------------------------------
// The provider
// ----------------------------------------------------------------------------------------------------------

const IMPLEMENTED = () => Object.keys(RESOURCES).join(", ");

function resourceOf(urn: string): { type: string; r: AwsResource } {
    const { type } = urnParts(urn);
    const r = RESOURCES[type];
    if (!r) fail(`unknown resource type ${type}: the stand-in aws provider ${VERSION} implements only ${IMPLEMENTED()}`);
    return { type, r };
}

/** What the account file keeps of outputs: not the secrets AWS returns only once. */
function storable(r: AwsResource, outputs: Props): Props {
    const plain = reveal<Props>(outputs);
    for (const k of r.secretOutputs ?? []) delete plain[k];
    return plain;
}

const impl: provider.Provider = {
    version: VERSION,

    async check(urn, olds, news) {
        const { type, r } = resourceOf(urn);
        const result = checkInputs(r.spec, urn, olds ?? {}, news ?? {});
        record(NAME, "check", { urn, type, failures: result.failures ?? [] });
        return result;
    },

    async create(urn, inputs) {
        const { type, r } = resourceOf(urn);
        return timed(NAME, "create", { urn, type, inputs }, () =>
            CLOUD.update(cloud => {
                const ins = reveal<Props>(inputs);
                const region = r.global ? "" : regionOf(ins);
                const created = r.create({ urn, type, raw: inputs, ins, cloud, region });
                const id = created.id;
                const outputs = clean(created.outputs);
                const stored: Stored = { type, id, urn, inputs: ins, outputs: storable(r, outputs), createdAt: now() };
                cloud.resources[key(type, id)] = stored;
                return { id, outs: outputs };
            }),
        );
    },

    async read(id, urn, props) {
        const { type, r } = resourceOf(urn);
        return timed(NAME, "read", { urn, type, id }, () => {
            const stored = find(CLOUD.read(), type, id);
            // Gone from the account: the engine drops it from the state (as the provider's Read does).
            if (!stored) return { id: "", props: {} };
            const outputs = { ...(props ?? {}), ...stored.outputs };
            for (const k of r.secretOutputs ?? []) if (props?.[k] !== undefined) outputs[k] = props[k];
            return { id, props: outputs, inputs: stored.inputs };
        });
    },

    async update(id, urn, olds, news) {
        const { type, r } = resourceOf(urn);
        return timed(NAME, "update", { urn, type, id, inputs: news }, () =>
            CLOUD.update(cloud => {
                const ins = reveal<Props>(news);
                const old = find(cloud, type, id) ?? fail(`updating ${type} (${id}): it no longer exists in the stand-in AWS account`);
                const region = r.global ? "" : regionOf(ins);
                // The old outputs, less the inputs the program no longer gives (unless computed), and the secrets.
                const base: Props = { ...(olds as Props), ...old.outputs };
                for (const k of r.secretOutputs ?? []) if ((olds as Props)[k] !== undefined) base[k] = (olds as Props)[k];
                for (const k of Object.keys(old.inputs)) if (ins[k] === undefined && !(r.spec.computed ?? []).includes(k)) delete base[k];
                const ctx = { urn, type, raw: news, ins, cloud, region, id, old: { ...old, outputs: base } };
                const outputs = clean(
                    r.update ? r.update(ctx) : { ...base, ...news, ...(base.tagsAll !== undefined ? { tagsAll: tagsAll(ins) } : {}) },
                );
                cloud.resources[key(type, id)] = { ...old, inputs: ins, outputs: storable(r, outputs), updatedAt: now() };
                return { outs: outputs };
            }),
        );
    },

    async delete(id, urn, props) {
        const { type, r } = resourceOf(urn);
        await timed(NAME, "delete", { urn, type, id }, () =>
            CLOUD.update(cloud => {
                const old = find(cloud, type, id);
                if (!old) return; // already gone: the provider's Delete ignores NotFound
                r.delete?.({
                    urn,
                    type,
                    raw: props,
                    ins: reveal(props),
                    cloud,
                    region: r.global ? "" : String(old.outputs.region ?? ""),
                    id,
                    old,
                });
                delete cloud.resources[key(type, id)];
            }),
        );
    },

    async invoke(token, args) {
        const fn = FUNCTIONS[token];
        if (!fn)
            fail(`unknown function ${token}: the stand-in aws provider ${VERSION} implements only ${Object.keys(FUNCTIONS).join(", ")}`);
        const plain = reveal<Props>(args ?? {});
        const failures = fn.failures?.(plain) ?? [];
        if (failures.length) {
            record(NAME, "invoke", { token, args: plain, failures });
            return { failures };
        }
        const outputs = fn.run(plain, CLOUD.read());
        record(NAME, "invoke", { token, args: plain, result: { id: outputs.id } });
        return { outputs };
    },
};

if (path.resolve(process.argv[1] ?? "") === __filename) {
    serveBridged({
        impl,
        configure: config => {
            configuredRegion = config.region || process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || undefined;
            record(NAME, "configure", { region: configuredRegion ?? null });
            if (!configuredRegion) throw new Error(missingRegion());
        },
        diff: (urn, id, _olds, news, oldInputs) => {
            const { type, r } = resourceOf(urn);
            const outcome = diffInputs(r.spec, urn, oldInputs, news);
            record(NAME, "diff", {
                urn,
                type,
                id,
                changes: outcome.changes,
                replaces: outcome.replaces,
                diffs: outcome.diffs,
                deleteBeforeReplace: outcome.deleteBeforeReplace,
            });
            return outcome;
        },
    });
}
