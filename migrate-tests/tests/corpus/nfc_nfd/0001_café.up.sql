CREATE TABLE cafe (x);
