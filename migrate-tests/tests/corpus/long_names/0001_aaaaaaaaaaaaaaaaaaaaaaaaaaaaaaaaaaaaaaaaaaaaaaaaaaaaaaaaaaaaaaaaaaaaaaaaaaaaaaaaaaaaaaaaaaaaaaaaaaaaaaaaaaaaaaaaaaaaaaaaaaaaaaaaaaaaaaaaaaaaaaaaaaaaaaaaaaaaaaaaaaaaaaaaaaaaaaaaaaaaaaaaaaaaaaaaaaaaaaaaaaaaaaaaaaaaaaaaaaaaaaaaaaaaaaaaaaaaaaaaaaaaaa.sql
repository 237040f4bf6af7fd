CREATE TABLE long_ascii (x);
