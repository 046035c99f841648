import { prismaConfig } from "@energy/infra/prisma-config";

// Only for this package's tests: a service-shaped schema with the outbox and processed-message models.
export default prismaConfig({ schema: "test/prisma/schema.prisma" });
