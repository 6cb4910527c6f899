-- Authentication and authorization, SQLite dialect: operator accounts, server settings (the
-- generated JWT secret) and the charger credentials of OCPP security profiles 1 and 2.
-- Keep migrations/postgres/0003_auth.sql telling the same story.

-- Operator accounts. E-mails are stored lowercased, so the unique index is case-insensitive.
-- organization NULL = every organization; an organization code = only that organization's
-- stations, points, sessions and chargers. token_version is in every token: bumping it (logout,
-- password reset, role change, deactivation) revokes every token issued before.
CREATE TABLE users (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    email          VARCHAR(255) NOT NULL,
    name           VARCHAR(255) NOT NULL,
    password_hash  TEXT         NOT NULL,  -- argon2id, PHC string
    role           VARCHAR(20)  NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    organization   VARCHAR(100) REFERENCES organizations (code),
    active         INTEGER      NOT NULL DEFAULT 1,
    deleted        INTEGER      NOT NULL DEFAULT 0,
    token_version  INTEGER      NOT NULL DEFAULT 0,
    last_login_at  TEXT,
    created_at     TEXT         NOT NULL,
    updated_at     TEXT         NOT NULL
);
CREATE UNIQUE INDEX uq_users_email ON users (email) WHERE deleted = FALSE;

-- Server-wide settings kept in the database (the generated JWT secret), one row per key.
CREATE TABLE settings (
    key         VARCHAR(100) PRIMARY KEY,
    value       TEXT         NOT NULL,
    created_at  TEXT         NOT NULL
);

-- OCPP security profiles 1 and 2: HTTP Basic on the WebSocket upgrade.
-- auth_key_hash: argon2id of the charger's AuthorizationKey (NULL = none set).
-- auth_required: must this charger authenticate (NULL = the global default).
ALTER TABLE chargers ADD COLUMN auth_key_hash TEXT;
ALTER TABLE chargers ADD COLUMN auth_required INTEGER;
