import { prismaConfig } from "@energy/infra/prisma-config";

// Migrations offline through the pg adapter; see infra/postgres/prisma-config.ts.
export default prismaConfig({ schema: "prisma/schema.prisma" });
