-- Every release reads `status` now (0007); the old flag goes.
ALTER TABLE tasks DROP COLUMN done;
