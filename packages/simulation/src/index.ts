/**
 * The simulated sites of the platform: a site's physics (curves), which devices and DERs it has (site
 * plan), and gateways as ingestion items (fleet). Pure and deterministic given a seed; used by
 * tools/gateway-simulator and by ingestion's benchmark.
 */
export * from "./curves.ts";
export * from "./fleet.ts";
export * from "./site-plan.ts";
