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
