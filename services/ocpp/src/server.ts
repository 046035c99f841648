import { runMain } from "@energy/service-kit";
import { ocpp } from "./service.ts";

await runMain(ocpp);
