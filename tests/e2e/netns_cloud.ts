/**
 * The boot test's simulated cloud (instance metadata and the EKS API of tests/fakes/demo_cloud.ts),
 * started by the test inside the container's network namespace (`nsenter --net=...`), where eksnode
 * init running in the container reaches it on 127.0.0.1. Prints one JSON line with the environment
 * for eksnode, then serves until its stdin closes.
 */
import { startDemoCloud } from "../fakes/demo_cloud.ts";

const cloud = await startDemoCloud();
console.log(JSON.stringify(cloud.env));
for await (const _ of Deno.stdin.readable) { /* until the test closes stdin */ }
await cloud.close();
