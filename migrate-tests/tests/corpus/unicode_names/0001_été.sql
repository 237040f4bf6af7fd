CREATE TABLE combining (x);
