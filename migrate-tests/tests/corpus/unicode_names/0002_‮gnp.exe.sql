CREATE TABLE rtl_override (x);
