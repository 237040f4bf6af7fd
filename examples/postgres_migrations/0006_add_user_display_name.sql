-- Show a name instead of an email address. Existing users get the part of
-- their email before the `@` until they choose one.
ALTER TABLE users ADD COLUMN display_name text;

UPDATE users SET display_name = split_part(email, '@', 1) WHERE display_name IS NULL;
