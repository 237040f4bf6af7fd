SELECT '-- migrate:x'; -- migrate:y
/*
-- MIGRATE:in a block comment
*/
