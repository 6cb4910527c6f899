-- Station images (the roadmap's phase 6 upload). The bytes live in the configured object store
-- (EVCMS_STORAGE_URL); a row keeps where, what and who. A deleted image is soft-deleted first and
-- its objects removed later by a sweep (purged_at). Keep in step with the PostgreSQL dialect.
CREATE TABLE station_images (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    station_id        VARCHAR(255) NOT NULL REFERENCES charging_stations (station_id),
    object_key        VARCHAR(255) NOT NULL,
    thumbnail_key     VARCHAR(255) NOT NULL,
    content_type      VARCHAR(50)  NOT NULL,
    size_bytes        INTEGER      NOT NULL CHECK (size_bytes > 0),
    width             INTEGER      NOT NULL CHECK (width > 0),
    height            INTEGER      NOT NULL CHECK (height > 0),
    thumbnail_width   INTEGER      NOT NULL,
    thumbnail_height  INTEGER      NOT NULL,
    checksum          VARCHAR(64)  NOT NULL,  -- SHA-256 of the stored bytes, hex
    position          INTEGER      NOT NULL,
    is_cover          INTEGER      NOT NULL DEFAULT 0,
    uploaded_by       INTEGER      REFERENCES users (id),
    created_at        TEXT         NOT NULL,
    deleted           INTEGER      NOT NULL DEFAULT 0,
    deleted_at        TEXT,
    purged_at         TEXT
);
CREATE UNIQUE INDEX uq_station_images_object_key ON station_images (object_key);
CREATE INDEX ix_station_images_station ON station_images (station_id, position) WHERE deleted = FALSE;
-- At most one cover per station.
CREATE UNIQUE INDEX uq_station_images_cover ON station_images (station_id) WHERE is_cover = TRUE AND deleted = FALSE;
CREATE INDEX ix_station_images_unpurged ON station_images (deleted_at) WHERE deleted = TRUE AND purged_at IS NULL;
