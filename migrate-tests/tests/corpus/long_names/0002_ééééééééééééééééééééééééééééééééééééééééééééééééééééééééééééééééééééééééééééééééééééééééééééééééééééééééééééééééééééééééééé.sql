CREATE TABLE long_utf8 (x);
