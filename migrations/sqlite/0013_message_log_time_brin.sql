-- PostgreSQL's 0013 turns the message log's time index into a BRIN index. SQLite has no BRIN:
-- its B-tree on `at` stays. This migration keeps the two dialects' numbering in step.
SELECT 1;
