-- 0013: ListSecrets' rotation filter (SecretQuery.Rotation) in name order.
--
-- The web console lists the secrets whose rotation is on (or off) by name,
-- a page at a time. With only the UNIQUE (region, name) index, a page of a
-- filter that few secrets match scans names until it has found a page's
-- worth: at 100,000 secrets with one in a thousand rotating, most of the
-- table. On this index, a page is one range scan from the cursor, however
-- few match. The other sort orders scan their own index and test each row.
CREATE INDEX secrets_list_rotation ON secrets (region, rotation_enabled, name, arn);
