import { runMain } from "@energy/service-kit";
import { meterRead } from "./service.ts";

await runMain(meterRead);
