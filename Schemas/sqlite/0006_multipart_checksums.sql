-- S3 multipart checksums: the algorithm and kind (COMPOSITE / FULL_OBJECT) an upload was
-- created with, each part's checksum in that algorithm (base64), and the checksum a
-- completion produced (so a repeated CompleteMultipartUpload answers the same).
ALTER TABLE multipart_uploads ADD COLUMN checksum_algorithm TEXT;
ALTER TABLE multipart_uploads ADD COLUMN checksum_type TEXT;
ALTER TABLE multipart_uploads ADD COLUMN completed_checksum TEXT;
ALTER TABLE multipart_parts ADD COLUMN checksum TEXT;
