// The entry of a consumer group's worker thread (worker-runner.ts): the service's sources are TypeScript,
// loaded through tsx as the service's own thread loads them (tsx src/server.ts, or vitest in tests).
import { register } from "tsx/esm/api";

register();
await import("./worker-main.ts");
