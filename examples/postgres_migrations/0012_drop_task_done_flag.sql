-- Every release reads `status` now (0007).
ALTER TABLE tasks DROP COLUMN done;
