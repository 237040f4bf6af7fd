CREATE TABLE japanese (x);
