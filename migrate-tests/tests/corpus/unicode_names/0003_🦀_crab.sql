CREATE TABLE crab (x);
