import { runMain } from "@energy/service-kit";
import { certificate } from "./service.ts";

await runMain(certificate);
