-- 0003: indexes for ListSecrets (Tx.ListSecrets).
--
-- Listing pages by keyset: each sort order has an index on (region, key,
-- arn), so a page is a range scan that starts right after the cursor and
-- stops after LIMIT rows, whatever the page number. The name order uses
-- the UNIQUE (region, name) index of 0001 (a name is unique in its region,
-- so the ARN never breaks a tie there). secrets_list_created replaces
-- secrets_region_created, of which it is an extension.
--
-- Prefix filters are range conditions (key >= prefix AND key < successor),
-- which use these indexes and the ones on tags below: a tag filter can
-- start from the tags that match and reach their secrets by ARN.

DROP INDEX secrets_region_created;
CREATE INDEX secrets_list_created ON secrets (region, created_date, arn);
CREATE INDEX secrets_list_changed ON secrets (region, last_changed_date, arn);
CREATE INDEX secrets_list_accessed ON secrets (region, last_accessed_date, arn);

CREATE INDEX tags_key ON tags (key, secret_arn);
CREATE INDEX tags_value ON tags (value, secret_arn);

-- Tag filters test, for each secret the scan reaches, whether a tag key
-- (value) starts with a prefix. tag_text lets most rows be decided from the
-- secret's own row: it is the concatenation, in any order, of
-- char(30) || key || char(31) || value for every tag, so that when
-- char(30) || prefix (char(31) || prefix) does not occur in it, no key
-- (value) starts with prefix. When it occurs, an EXISTS on tags decides
-- (a key or value may itself contain those bytes). The store rewrites it
-- with the tags.
ALTER TABLE secrets ADD COLUMN tag_text TEXT NOT NULL DEFAULT '';
UPDATE secrets SET tag_text = COALESCE((
    SELECT group_concat(char(30) || key || char(31) || value, '')
    FROM (SELECT key, value FROM tags WHERE tags.secret_arn = secrets.arn ORDER BY position)
), '');
