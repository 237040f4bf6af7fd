DROP TABLE hebrew;
