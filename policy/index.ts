/** The policy pack's entry point (`pulumi preview --policy-pack policy`): wires the policies together. */
import { PolicyPack } from "@pulumi/policy";
import { PACK_NAME, policies } from "./policies";

new PolicyPack(PACK_NAME, {
  description: "Refuses unencrypted, publicly reachable or unaudited PostgreSQL on Cloud SQL, and the buckets, keys and secrets around it.",
  policies: [...policies],
});
