CREATE TABLE almost (x);
