-- café
SELECT 2;
