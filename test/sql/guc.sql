--
-- guc: every perfguard.* parameter with its type, default, unit and context
--
SELECT name, boot_val, setting, unit, vartype, context, enumvals
  FROM pg_settings WHERE name LIKE 'perfguard.%' ORDER BY 1;

-- the prefix is reserved: a misspelt parameter is an error, not a placeholder
SET perfguard.trak = 'all';

-- invalid values are refused
SET perfguard.track = 'everything';

-- sizing parameters cannot change at run time
SET perfguard.max_queries = 200;
