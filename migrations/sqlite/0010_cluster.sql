-- Several evcms nodes on one PostgreSQL: the nodes and their heartbeats, which node holds each
-- charger's connection, commands relayed to the node holding the charger, and the failed logins
-- counted across nodes. Keep in step with PostgreSQL. SQLite runs one node: these stay idle here, and
-- exist so both schemas stay one.

-- One row per evcms process (EVCMS_NODE_ID, or generated at start). heartbeat_at is refreshed
-- every few seconds with the database's clock; a node whose heartbeat lapsed is presumed dead and
-- the others mark its chargers disconnected.
CREATE TABLE nodes (
    id                 VARCHAR(64)  PRIMARY KEY,
    started_at         TEXT         NOT NULL,
    heartbeat_at       TEXT         NOT NULL,
    -- Set when it stopped cleanly.
    stopped_at         TEXT,
    -- Its live connections and live event-stream subscribers, as of its last heartbeat.
    chargers           INTEGER      NOT NULL DEFAULT 0,
    event_subscribers  INTEGER      NOT NULL DEFAULT 0
);

-- The node whose socket serves the charger (while connected).
ALTER TABLE chargers ADD COLUMN node_id VARCHAR(64);
CREATE INDEX ix_chargers_node ON chargers (node_id) WHERE connected = 1;

-- A command asked through one node for a charger connected to another: relay_node is the node
-- asked to send it; relay_state goes requested -> claimed (it is being sent: nobody else may send
-- it) -> done (relay_outcome holds what became of the CALL), or requested -> expired (the holder
-- never took it: it is never sent).
ALTER TABLE charger_commands ADD COLUMN relay_node VARCHAR(64);
ALTER TABLE charger_commands ADD COLUMN relay_state VARCHAR(20)
    CHECK (relay_state IN ('requested', 'claimed', 'done', 'expired'));
ALTER TABLE charger_commands ADD COLUMN relay_outcome TEXT;

-- Failed logins per account ('account:<e-mail>') and per client address ('address:<ip>') in the
-- current window, shared by every node.
CREATE TABLE login_failures (
    key                VARCHAR(400) PRIMARY KEY,
    window_started_at  TEXT         NOT NULL,
    failures           INTEGER      NOT NULL
);
