-- Search within one's groups: a trigram index (pg_trgm) over the posts' current text, used by
-- ILIKE '%…%' for queries of 3+ characters; shorter ones scan the member's own rooms.
CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
CREATE INDEX posts_body_trgm ON posts USING gin (body public.gin_trgm_ops);
