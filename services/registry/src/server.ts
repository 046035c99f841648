import { runMain } from "@energy/service-kit";
import { registry } from "./service.ts";

await runMain(registry);
