-- migrate:no-transaction
DROP TABLE a;DROP TABLE b;
DROP TABLE c;
DROP TABLE d;