--
-- seqscan: sequential scans of large tables are flagged, with the filter,
-- the rows, and a candidate index; small tables and index scans are not
--
CREATE TABLE big AS
    SELECT g AS id, g % 100 AS grp, g % 7 AS kind, md5(g::text) AS payload
      FROM generate_series(1, 20000) g;
CREATE TABLE small AS SELECT g AS id, g % 10 AS grp FROM generate_series(1, 500) g;
ANALYZE big, small;

CREATE VIEW scans AS
    SELECT query, toplevel,
           detail->>'relation' AS relation,
           detail->>'table_rows' AS table_rows,
           detail->>'full_read' AS full_read,
           detail->>'filter' AS filter,
           detail->>'index_advice' AS index_advice
      FROM perfguard.events WHERE kind = 'seq_scan';

SELECT perfguard.reset() >= 0 AS reset, perfguard.reset_events() >= 0 AS reset_events;
SET perfguard.capture_interval = 0;

-- flagged: a full read (no advice) and filtered reads (advice: equality
-- columns first, then one range column; IN lists count as equality)
SELECT count(*) FROM big;
SELECT count(*) FROM big WHERE grp = 5;
SELECT count(*) FROM big WHERE id > 19990 AND grp = 5;
SELECT count(*) FROM big WHERE kind IN (1, 2) AND grp = 5 AND payload IS NULL;
SELECT count(*) FROM big WHERE 5 = grp::bigint;
-- flagged, but nothing an index on plain columns would serve
SELECT count(*) FROM big WHERE id + grp = 10;
SELECT count(*) FROM big WHERE payload LIKE 'ab%';
SELECT count(*) FROM big WHERE grp = 1 OR kind = 2;
SELECT * FROM scans;

-- not flagged: a small table
SELECT perfguard.reset_events() >= 0 AS reset_events;
SELECT count(*) FROM small WHERE grp = 5;
SELECT count(*) AS events FROM perfguard.events WHERE kind = 'seq_scan';

-- not flagged: an index scan; with index scans disabled the seq scan is
-- flagged, and the index that exists is named instead of advised
CREATE INDEX big_id ON big (id);
SELECT perfguard.reset_events() >= 0 AS reset_events;
SELECT id, grp FROM big WHERE id = 42;
SELECT count(*) AS events FROM perfguard.events WHERE kind = 'seq_scan';
SET enable_indexscan = off;
SET enable_bitmapscan = off;
SELECT id, grp FROM big WHERE id = 42;
RESET enable_indexscan;
RESET enable_bitmapscan;
SELECT detail->>'relation' AS relation, detail->>'index_advice' AS index_advice,
       detail->>'existing_index' AS existing_index
  FROM perfguard.events WHERE kind = 'seq_scan';

-- rows read and returned are measured when the execution is instrumented
SELECT perfguard.reset_events() >= 0 AS reset_events;
SELECT count(*) FROM big WHERE grp = 7;
SET perfguard.capture_mode = always;
SET perfguard.capture_min_duration = '1h';
SELECT count(*) FROM big WHERE grp = 7;
RESET perfguard.capture_mode;
RESET perfguard.capture_min_duration;
SELECT detail->>'rows_read' AS rows_read, detail->>'rows_returned' AS rows_returned,
       detail->>'loops' AS loops,
       detail->>'estimated_rows_returned' AS estimated_rows_returned
  FROM perfguard.events WHERE kind = 'seq_scan' ORDER BY event_id;

-- a table never analyzed is judged on an estimate from its width
CREATE TABLE fresh AS SELECT g AS id FROM generate_series(1, 20000) g;
SELECT perfguard.reset_events() >= 0 AS reset_events;
SELECT count(*) FROM fresh;
SELECT relation FROM scans;

-- seqscan_ignore: by name in any schema, or schema-qualified
SELECT perfguard.reset_events() >= 0 AS reset_events;
SET perfguard.seqscan_ignore = 'big';
SELECT count(*) FROM big WHERE grp = 9;
SET perfguard.seqscan_ignore = 'other, public.big';
SELECT count(*) FROM big WHERE grp = 9;
SET perfguard.seqscan_ignore = 'other.big';
SELECT count(*) FROM big WHERE grp = 9;
RESET perfguard.seqscan_ignore;
SELECT query, relation FROM scans;
SET perfguard.seqscan_ignore = '"unterminated';

-- the threshold, and -1 turns the detector off
SELECT perfguard.reset_events() >= 0 AS reset_events;
SET perfguard.seqscan_min_rows = 600;
SELECT count(*) FROM small;
SET perfguard.seqscan_min_rows = 400;
SELECT count(*) FROM small;
SET perfguard.seqscan_min_rows = -1;
SELECT count(*) FROM big;
RESET perfguard.seqscan_min_rows;
SELECT relation, table_rows FROM scans;

-- nested statements are judged when they are tracked (track = all)
SELECT perfguard.reset_events() >= 0 AS reset_events;
CREATE FUNCTION count_big(g int) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    SELECT count(*) INTO n FROM big WHERE big.grp = g;
    RETURN n;
END $$;
SELECT count_big(3);
SET perfguard.track = 'all';
SELECT count_big(3);
RESET perfguard.track;
SELECT query, toplevel, relation, filter FROM scans;

-- the rate limit: one event per statement per capture_interval; every
-- flagged execution is counted in perfguard.stats
SELECT perfguard.reset() >= 0 AS reset, perfguard.reset_events() >= 0 AS reset_events;
SET perfguard.capture_interval = '1h';
SELECT count(*) FROM big WHERE grp = 11;
SELECT count(*) FROM big WHERE grp = 12;
SELECT count(*) FROM big WHERE grp = 13;
SELECT count(*) AS events FROM perfguard.events WHERE kind = 'seq_scan';
SELECT query, calls, seq_scans FROM perfguard.stats
 WHERE query LIKE '%FROM big%' ORDER BY query;
RESET perfguard.capture_interval;

DROP FUNCTION count_big(int);
DROP VIEW scans;
DROP TABLE big, small, fresh;
