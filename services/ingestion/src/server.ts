import { runMain } from "@energy/service-kit";
import { ingestion } from "./service.ts";

await runMain(ingestion);
