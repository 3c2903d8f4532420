/**
 * The mastodon-migration policy pack: `pulumi preview --policy-pack policy` (from the project directory).
 * Constructing the PolicyPack starts the gRPC server the Pulumi CLI talks to, so this file only serves the
 * policies of `policies.ts`, where they are defined and unit-tested.
 */
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

new PolicyPack("mastodon-migration-policy", {
    description:
        "Guard rails for moving a Mastodon instance: protected DNS and EC2, verification before DNS moves, " +
        "an old server that stays stopped once the move is complete, and SSH keys that never appear in plaintext.",
    enforcementLevel: "mandatory",
    policies,
});
