-- CreateTable
CREATE TABLE "device_group" (
    "id" TEXT NOT NULL,
    "org_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "sdg_benefits" INTEGER NOT NULL DEFAULT 0,
    "impact_story" TEXT,
    "images" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "device_group_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "device_group_member" (
    "group_id" TEXT NOT NULL,
    "device_id" TEXT NOT NULL,
    "added_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "device_group_member_pkey" PRIMARY KEY ("group_id","device_id")
);

-- CreateTable
CREATE TABLE "community" (
    "id" TEXT NOT NULL,
    "org_id" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT,
    "areas" JSONB NOT NULL DEFAULT '{}',
    "topology" JSONB NOT NULL DEFAULT '[]',
    "legal" JSONB NOT NULL DEFAULT '{}',
    "links" JSONB NOT NULL DEFAULT '{}',
    "contact" JSONB NOT NULL DEFAULT '{}',
    "settings" JSONB NOT NULL DEFAULT '{}',
    "extra" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "community_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "community_member" (
    "community_id" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "identity_id" TEXT,
    "name" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "area" TEXT,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "delivery_points" JSONB NOT NULL DEFAULT '[]',
    "extra" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "community_member_pkey" PRIMARY KEY ("community_id","key")
);

-- CreateTable
CREATE TABLE "community_asset" (
    "community_id" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "asset_type" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "sensor_id" TEXT,
    "owner_member_key" TEXT NOT NULL,
    "properties" JSONB NOT NULL DEFAULT '{}',
    "device" JSONB NOT NULL DEFAULT '{}',
    "relationships" JSONB NOT NULL DEFAULT '{}',
    "extra" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "community_asset_pkey" PRIMARY KEY ("community_id","key")
);

-- CreateIndex
CREATE INDEX "device_group_org_id_idx" ON "device_group"("org_id");

-- CreateIndex
CREATE INDEX "device_group_member_device_id_idx" ON "device_group_member"("device_id");

-- CreateIndex
CREATE UNIQUE INDEX "community_org_id_key_key" ON "community"("org_id", "key");

-- CreateIndex
CREATE INDEX "community_asset_sensor_id_idx" ON "community_asset"("sensor_id");

-- AddForeignKey
ALTER TABLE "device_group" ADD CONSTRAINT "device_group_org_id_fkey" FOREIGN KEY ("org_id") REFERENCES "organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "device_group_member" ADD CONSTRAINT "device_group_member_group_id_fkey" FOREIGN KEY ("group_id") REFERENCES "device_group"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "device_group_member" ADD CONSTRAINT "device_group_member_device_id_fkey" FOREIGN KEY ("device_id") REFERENCES "device"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "community" ADD CONSTRAINT "community_org_id_fkey" FOREIGN KEY ("org_id") REFERENCES "organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "community_member" ADD CONSTRAINT "community_member_community_id_fkey" FOREIGN KEY ("community_id") REFERENCES "community"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "community_asset" ADD CONSTRAINT "community_asset_community_id_fkey" FOREIGN KEY ("community_id") REFERENCES "community"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "community_asset" ADD CONSTRAINT "community_asset_community_id_owner_member_key_fkey" FOREIGN KEY ("community_id", "owner_member_key") REFERENCES "community_member"("community_id", "key") ON DELETE NO ACTION ON UPDATE CASCADE;

