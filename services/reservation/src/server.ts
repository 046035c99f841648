import { runMain } from "@energy/service-kit";
import { reservation } from "./service.ts";

await runMain(reservation);
