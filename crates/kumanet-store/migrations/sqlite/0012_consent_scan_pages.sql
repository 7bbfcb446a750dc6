-- R4.1, R9.3: a consent scan is shown as cleaned page images, never as it was sent: a photo
-- re-encoded without its EXIF (GPS position, device), a PDF rendered to one PNG per page.
-- consents.scan keeps a PDF as signed (the record of the form; never served); for an image it
-- is NULL once the cleaned copy is here.
CREATE TABLE consent_scan_pages (
    consent_id TEXT NOT NULL REFERENCES consents (id),
    page INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (consent_id, page)
);
