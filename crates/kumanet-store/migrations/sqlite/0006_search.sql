-- Search within one's groups: an FTS5 index with the trigram tokenizer over the posts' current
-- text (Japanese has no spaces between words; trigrams find any substring of 3+ characters;
-- shorter queries fall back to a scan of the member's own rooms).
CREATE VIRTUAL TABLE posts_fts USING fts5(body, content = 'posts', content_rowid = 'rowid', tokenize = 'trigram');
INSERT INTO posts_fts (rowid, body) SELECT rowid, body FROM posts;
CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN
    INSERT INTO posts_fts (rowid, body) VALUES (new.rowid, new.body);
END;
CREATE TRIGGER posts_fts_update AFTER UPDATE OF body ON posts BEGIN
    INSERT INTO posts_fts (posts_fts, rowid, body) VALUES ('delete', old.rowid, old.body);
    INSERT INTO posts_fts (rowid, body) VALUES (new.rowid, new.body);
END;
