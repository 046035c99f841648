-- CreateTable
CREATE TABLE "device_variable" (
    "charge_point_id" TEXT NOT NULL,
    "component" TEXT NOT NULL,
    "component_instance" TEXT NOT NULL DEFAULT '',
    "evse_id" INTEGER NOT NULL DEFAULT 0,
    "evse_connector_id" INTEGER NOT NULL DEFAULT 0,
    "variable" TEXT NOT NULL,
    "variable_instance" TEXT NOT NULL DEFAULT '',
    "attribute_type" TEXT NOT NULL DEFAULT 'Actual',
    "value" TEXT,
    "mutability" TEXT,
    "persistent" BOOLEAN,
    "constant" BOOLEAN,
    "data_type" TEXT,
    "unit" TEXT,
    "min_limit" DOUBLE PRECISION,
    "max_limit" DOUBLE PRECISION,
    "values_list" TEXT,
    "supports_monitoring" BOOLEAN,
    "request_id" INTEGER NOT NULL,
    "reported_at" TIMESTAMPTZ(3) NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "device_variable_pkey" PRIMARY KEY ("charge_point_id","component","component_instance","evse_id","evse_connector_id","variable","variable_instance","attribute_type")
);

-- CreateTable
CREATE TABLE "device_event" (
    "id" BIGSERIAL NOT NULL,
    "charge_point_id" TEXT NOT NULL,
    "event_id" INTEGER NOT NULL,
    "event_at" TIMESTAMPTZ(3) NOT NULL,
    "generated_at" TIMESTAMPTZ(3) NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL,
    "trigger" TEXT NOT NULL,
    "notification_type" TEXT NOT NULL,
    "cause" INTEGER,
    "actual_value" TEXT NOT NULL,
    "cleared" BOOLEAN NOT NULL DEFAULT false,
    "tech_code" TEXT,
    "tech_info" TEXT,
    "transaction_id" TEXT,
    "variable_monitoring_id" INTEGER,
    "component" TEXT NOT NULL,
    "component_instance" TEXT,
    "evse_id" INTEGER,
    "evse_connector_id" INTEGER,
    "variable" TEXT NOT NULL,
    "variable_instance" TEXT,

    CONSTRAINT "device_event_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "security_event" (
    "id" BIGSERIAL NOT NULL,
    "charge_point_id" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "critical" BOOLEAN NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL,
    "tech_info" TEXT,

    CONSTRAINT "security_event_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "device_variable_charge_point_id_variable_idx" ON "device_variable"("charge_point_id", "variable");

-- CreateIndex
CREATE INDEX "device_event_charge_point_id_event_at_idx" ON "device_event"("charge_point_id", "event_at");

-- CreateIndex
CREATE INDEX "device_event_charge_point_id_component_variable_idx" ON "device_event"("charge_point_id", "component", "variable");

-- CreateIndex
CREATE INDEX "security_event_charge_point_id_occurred_at_idx" ON "security_event"("charge_point_id", "occurred_at");

