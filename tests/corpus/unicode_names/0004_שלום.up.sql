CREATE TABLE hebrew (x);
