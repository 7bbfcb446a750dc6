-- The regional resource directory (Ayamu; R12.1, R12.2): the region's clinics, care services and
-- community venues. Kinds and areas are vocabularies the center edits (codes stay, labels change).
-- `search_text` holds the name, kana, services and notes folded (NFKC, katakana as hiragana,
-- lower case, no spaces) for substring search; `days` has bit 0 for Monday … bit 6 for Sunday.
CREATE TABLE directory_terms (
    vocabulary TEXT NOT NULL,
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    sort BIGINT NOT NULL,
    PRIMARY KEY (vocabulary, code)
);
INSERT INTO directory_terms (vocabulary, code, label, sort) VALUES
    ('kind', 'hospital', '病院', 1),
    ('kind', 'clinic', '診療所', 2),
    ('kind', 'dental_clinic', '歯科診療所', 3),
    ('kind', 'pharmacy', '薬局', 4),
    ('kind', 'visiting_nursing', '訪問看護ステーション', 5),
    ('kind', 'home_care_support', '居宅介護支援事業所', 6),
    ('kind', 'day_service', '通所介護(デイサービス)', 7),
    ('kind', 'short_stay', '短期入所(ショートステイ)', 8),
    ('kind', 'group_home', 'グループホーム', 9),
    ('kind', 'nursing_home', '介護老人福祉施設', 10),
    ('kind', 'community_support_center', '地域包括支援センター', 11),
    ('kind', 'salon', '通いの場・サロン', 12),
    ('kind', 'dementia_cafe', '認知症カフェ', 13),
    ('kind', 'volunteer', 'ボランティア団体', 14),
    ('kind', 'other', 'その他', 15),
    ('area', 'north', '北部', 1),
    ('area', 'south', '南部', 2),
    ('area', 'east', '東部', 3),
    ('area', 'west', '西部', 4),
    ('area', 'central', '中央', 5);

CREATE TABLE directory_entries (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    kana TEXT NOT NULL,
    address TEXT NOT NULL,
    area TEXT NOT NULL,
    phone TEXT NOT NULL,
    fax TEXT NOT NULL,
    email TEXT NOT NULL,
    web TEXT NOT NULL,
    days BIGINT NOT NULL,
    hours TEXT NOT NULL,
    services TEXT NOT NULL,
    capacity BIGINT,
    vacancies BIGINT,
    notes TEXT NOT NULL,
    confirmed_on TEXT,
    facility_id TEXT REFERENCES facilities (id),
    search_text TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL REFERENCES users (id),
    updated_at BIGINT NOT NULL
);
CREATE INDEX directory_entries_kind_idx ON directory_entries (kind, area);
CREATE INDEX directory_entries_kana_idx ON directory_entries (kana, name);
CREATE INDEX directory_entries_facility_idx ON directory_entries (facility_id);
CREATE INDEX directory_entries_confirmed_idx ON directory_entries (confirmed_on);
-- Words of 3+ characters can use a trigram index (LIKE '%…%'); shorter ones scan the table.
CREATE INDEX directory_entries_search_trgm ON directory_entries USING gin (search_text public.gin_trgm_ops);
