-- evcms core schema, SQLite dialect. The roadmap's tables and columns, with real keys, checks
-- and indexes, plus what the OCPP work needs (id tags, charger boot data and live status, meter
-- samples). Keep migrations/postgres/0001_core.sql telling the same story.
-- Timestamps are always bound from Rust (whole microseconds, UTC, RFC 3339 text); no column relies
-- on a default. SQLite has no exact decimal type, so every NUMERIC(p,s) of the PostgreSQL schema is
-- an INTEGER count of 10^-s units here (paise/cents for money, hundredths of a percent for tax,
-- 10^-8 degrees for coordinates): exact, and the same SQL arithmetic works on both.

CREATE TABLE organizations (
    code        VARCHAR(100) PRIMARY KEY,
    name        VARCHAR(255) NOT NULL,
    created_at  TEXT  NOT NULL
);
INSERT INTO organizations (code, name, created_at) VALUES
    ('massive_mobility', 'Massive Mobility', '2026-01-01T00:00:00Z'),
    ('1c_ev_charging', '1C EV Charging', '2026-01-01T00:00:00Z');

CREATE TABLE tariffs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    tariff_id     VARCHAR(255)  NOT NULL,
    tariff_name   VARCHAR(255)  NOT NULL,
    currency      VARCHAR(10)   NOT NULL CHECK (currency IN ('INR', 'USD')),
    base_charges  INTEGER       NOT NULL CHECK (base_charges >= 0),   -- per kWh
    tax           INTEGER       NOT NULL CHECK (tax >= 0 AND tax <= 10000), -- percent
    status        VARCHAR(50)   NOT NULL CHECK (status IN ('Active', 'Inactive')),
    created_by    VARCHAR(255),
    deleted       INTEGER       NOT NULL DEFAULT 0,
    created_at    TEXT   NOT NULL,
    updated_at    TEXT   NOT NULL
);
-- A deleted tariff's code may be reused: points refer to tariffs by id, never by code.
CREATE UNIQUE INDEX uq_tariffs_tariff_id ON tariffs (tariff_id) WHERE deleted = 0;
CREATE INDEX ix_tariffs_status ON tariffs (status);

CREATE TABLE charging_stations (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Never reused, even after deletion: points (and their sessions' history) refer to it.
    station_id      VARCHAR(255)  NOT NULL CONSTRAINT uq_charging_stations_station_id UNIQUE,
    station_name    VARCHAR(255)  NOT NULL,
    organization    VARCHAR(100)  NOT NULL REFERENCES organizations (code),
    address         TEXT,
    city            VARCHAR(100),
    state           VARCHAR(100),
    country         VARCHAR(100)  NOT NULL,
    pincode         VARCHAR(20),
    latitude        INTEGER       CHECK (latitude BETWEEN -9000000000 AND 9000000000),
    longitude       INTEGER       CHECK (longitude BETWEEN -18000000000 AND 18000000000),
    status          VARCHAR(50)   NOT NULL CHECK (status IN ('Active', 'Inactive', 'Maintenance')),
    grid_phase      VARCHAR(50)   NOT NULL CHECK (grid_phase IN ('Single Phase', 'Three Phase')),
    working_days    TEXT          NOT NULL DEFAULT '', -- comma-separated
    opening_time    TEXT,
    closing_time    TEXT,
    contact_person  VARCHAR(255),
    contact_number  VARCHAR(20),
    email           VARCHAR(255),
    deleted         INTEGER       NOT NULL DEFAULT 0,
    created_at      TEXT   NOT NULL,
    updated_at      TEXT   NOT NULL
);
CREATE INDEX ix_charging_stations_organization ON charging_stations (organization);
CREATE INDEX ix_charging_stations_status ON charging_stations (status);
CREATE INDEX ix_charging_stations_city ON charging_stations (LOWER(city));
CREATE INDEX ix_charging_stations_created_at ON charging_stations (created_at);

CREATE TABLE charging_points (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    charging_point_name  VARCHAR(255)  NOT NULL,
    station_id           VARCHAR(255)  NOT NULL REFERENCES charging_stations (station_id),
    -- The OCPP charge point identity the charger connects with (/ocpp/{device_id}).
    device_id            VARCHAR(255),
    tariff_id            INTEGER        REFERENCES tariffs (id),
    charger_type         VARCHAR(50)   NOT NULL CHECK (charger_type IN ('AC', 'DC')),
    phase                VARCHAR(50)   NOT NULL CHECK (phase IN ('Phase R', 'Phase Y', 'Phase B')),
    oem_list             VARCHAR(100)  NOT NULL CHECK (oem_list IN ('Massive Mobility', 'EVRE', 'Okaya')),
    max_power            INTEGER       CHECK (max_power > 0),
    deleted              INTEGER       NOT NULL DEFAULT 0,
    created_at           TEXT   NOT NULL,
    updated_at           TEXT   NOT NULL
);
-- A charger replaced by a new point keeps its identity: only live points must differ.
CREATE UNIQUE INDEX uq_charging_points_device_id ON charging_points (device_id) WHERE deleted = 0;
CREATE INDEX ix_charging_points_station_id ON charging_points (station_id);
CREATE INDEX ix_charging_points_tariff_id ON charging_points (tariff_id);
CREATE INDEX ix_charging_points_created_at ON charging_points (created_at);

CREATE TABLE connectors (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    charging_point_id  INTEGER        NOT NULL REFERENCES charging_points (id),
    connector_id       VARCHAR(10)   NOT NULL CHECK (connector_id IN ('1', '2', '3')),
    connector_type     VARCHAR(50)   NOT NULL
        CHECK (connector_type IN ('type2', 'ccs2', 'type1', 'gbt', 'nacs', 'ac_socket')),
    power              INTEGER       NOT NULL CHECK (power > 0),
    -- Live state from OCPP StatusNotification; NULL until the charger first reports it.
    status             VARCHAR(50),
    error_code         VARCHAR(50),
    status_at          TEXT,
    -- A connector removed from its point is kept (sessions refer to it) but hidden.
    deleted            INTEGER       NOT NULL DEFAULT 0,
    created_at         TEXT   NOT NULL,
    updated_at         TEXT   NOT NULL,
    CONSTRAINT uq_connectors_point_connector UNIQUE (charging_point_id, connector_id)
);

CREATE TABLE customers (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_name    VARCHAR(255)  NOT NULL,
    phone            VARCHAR(20)   NOT NULL,
    email            VARCHAR(255),
    default_vehicle  VARCHAR(255),
    -- The ledger's latest balance, kept beside the customer so a debit is one conditional UPDATE.
    wallet_balance   INTEGER       NOT NULL DEFAULT 0,
    deleted          INTEGER       NOT NULL DEFAULT 0,
    created_at       TEXT   NOT NULL,
    updated_at       TEXT   NOT NULL
);
CREATE UNIQUE INDEX uq_customers_phone ON customers (phone) WHERE deleted = 0;
CREATE INDEX ix_customers_created_at ON customers (created_at);

-- RFID cards and app tokens (OCPP idTag, at most 20 characters) that charge to a customer.
CREATE TABLE id_tags (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    id_tag       VARCHAR(20)  NOT NULL CONSTRAINT uq_id_tags_id_tag UNIQUE,
    customer_id  INTEGER       NOT NULL REFERENCES customers (id),
    blocked      INTEGER      NOT NULL DEFAULT 0,
    expires_at   TEXT,
    created_at   TEXT  NOT NULL,
    updated_at   TEXT  NOT NULL
);
CREATE INDEX ix_id_tags_customer_id ON id_tags (customer_id);

CREATE TABLE wallet_transactions (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id       INTEGER        NOT NULL REFERENCES customers (id),
    transaction_type  VARCHAR(50)   NOT NULL CHECK (transaction_type IN ('Credit', 'Debit')),
    amount            INTEGER       NOT NULL CHECK (amount > 0),
    balance           INTEGER       NOT NULL, -- balance after this transaction
    description       TEXT,
    reference_id      VARCHAR(255),
    created_at        TEXT   NOT NULL
);
-- A payment reference or a session credits or debits a wallet at most once.
CREATE UNIQUE INDEX uq_wallet_transactions_reference
    ON wallet_transactions (customer_id, transaction_type, reference_id) WHERE reference_id IS NOT NULL;
CREATE INDEX ix_wallet_transactions_customer ON wallet_transactions (customer_id, created_at);

-- A charger as it introduced itself over OCPP, known or not yet adopted by a charging point.
CREATE TABLE chargers (
    id                         INTEGER PRIMARY KEY AUTOINCREMENT,
    charge_point_id            VARCHAR(255) NOT NULL CONSTRAINT uq_chargers_charge_point_id UNIQUE,
    vendor                     VARCHAR(20),
    model                      VARCHAR(20),
    charge_point_serial_number VARCHAR(25),
    charge_box_serial_number   VARCHAR(25),
    firmware_version           VARCHAR(50),
    iccid                      VARCHAR(20),
    imsi                       VARCHAR(20),
    meter_type                 VARCHAR(25),
    meter_serial_number        VARCHAR(25),
    registration_status        VARCHAR(20),  -- Accepted, Pending, Rejected: our last BootNotification answer
    status                     VARCHAR(50),  -- connector 0 status
    error_code                 VARCHAR(50),
    connected                  INTEGER      NOT NULL DEFAULT 0,
    connected_at               TEXT,
    disconnected_at            TEXT,
    last_seen_at               TEXT,
    last_boot_at               TEXT,
    created_at                 TEXT  NOT NULL,
    updated_at                 TEXT  NOT NULL
);

CREATE TABLE charging_sessions (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id         VARCHAR(255)  NOT NULL CONSTRAINT uq_charging_sessions_session_id UNIQUE,
    customer_id        INTEGER        REFERENCES customers (id),
    charging_point_id  INTEGER        NOT NULL REFERENCES charging_points (id),
    connector_id       INTEGER        REFERENCES connectors (id),
    start_time         TEXT   NOT NULL,
    end_time           TEXT,
    -- Energy is an exact integer count of Wh; the API also shows it as kWh (energy_consumed).
    energy_wh          INTEGER        CHECK (energy_wh >= 0),
    billed_amount      INTEGER       CHECK (billed_amount >= 0),
    status             VARCHAR(50)   NOT NULL CHECK (status IN ('Active', 'Completed', 'Cancelled')),
    -- OCPP transaction data.
    transaction_id     INTEGER        CONSTRAINT uq_charging_sessions_transaction_id UNIQUE,
    id_tag             VARCHAR(20),
    meter_start_wh     INTEGER,
    meter_stop_wh      INTEGER,
    stop_reason        VARCHAR(50),
    -- The tariff in force when the session started: later tariff edits do not reprice it.
    tariff_id          INTEGER        REFERENCES tariffs (id),
    currency           VARCHAR(10),
    base_charges       INTEGER      ,
    tax                INTEGER     ,
    created_at         TEXT   NOT NULL,
    updated_at         TEXT   NOT NULL
);
CREATE INDEX ix_charging_sessions_customer_id ON charging_sessions (customer_id);
CREATE INDEX ix_charging_sessions_point ON charging_sessions (charging_point_id, status);
CREATE INDEX ix_charging_sessions_start_time ON charging_sessions (start_time);
CREATE INDEX ix_charging_sessions_status ON charging_sessions (status);

-- Sampled meter data (MeterValues), energy as integer Wh, other measurands as exact decimals.
CREATE TABLE meter_values (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    charge_point_id    VARCHAR(255)  NOT NULL,
    connector_number   INTEGER       NOT NULL,
    session_id         INTEGER        REFERENCES charging_sessions (id),
    sampled_at         TEXT   NOT NULL,
    received_at        TEXT   NOT NULL,
    measurand          VARCHAR(50)   NOT NULL,
    phase              VARCHAR(10),
    context            VARCHAR(30),
    location           VARCHAR(10),
    unit               VARCHAR(10),
    value              INTEGER       NOT NULL
);
CREATE INDEX ix_meter_values_session ON meter_values (session_id, sampled_at);
CREATE INDEX ix_meter_values_charger ON meter_values (charge_point_id, sampled_at);
