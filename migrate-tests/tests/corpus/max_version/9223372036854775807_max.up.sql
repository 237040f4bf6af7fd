CREATE TABLE max (x);
