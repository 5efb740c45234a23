-- A completed upload keeps its row (without parts) and the ETag it produced, so that a
-- repeated CompleteMultipartUpload answers the same, as S3 does.
ALTER TABLE multipart_uploads ADD COLUMN completed_etag TEXT;
