--
-- privileges: query texts of other users are hidden unless allowed
--
CREATE ROLE regress_pfg_alice LOGIN;
CREATE ROLE regress_pfg_bob LOGIN;
CREATE ROLE regress_pfg_carol LOGIN IN ROLE pg_read_all_stats;
CREATE TABLE secrets (id int, card text);
GRANT SELECT ON secrets TO regress_pfg_alice, regress_pfg_bob, regress_pfg_carol;

SELECT perfguard.reset() >= 0 AS reset;

SET ROLE regress_pfg_alice;
SELECT card FROM secrets WHERE card = '4111-1111-1111-1111';
-- alice sees her own text
SELECT query, calls FROM perfguard.stats WHERE query LIKE '%secrets%' ORDER BY query COLLATE "C";
RESET ROLE;

-- bob sees alice's numbers, not her text
SET ROLE regress_pfg_bob;
SELECT query, calls, fingerprint IS NOT NULL AS has_fingerprint
  FROM perfguard.stats
 WHERE userid = 'regress_pfg_alice'::regrole
 ORDER BY queryid;
-- and bob may not reset
SELECT perfguard.reset();
RESET ROLE;

-- members of pg_read_all_stats see every text
SET ROLE regress_pfg_carol;
SELECT query, calls FROM perfguard.stats
 WHERE userid = 'regress_pfg_alice'::regrole
 ORDER BY query COLLATE "C";
RESET ROLE;

-- superusers see every text
SELECT query, calls FROM perfguard.stats
 WHERE userid = 'regress_pfg_alice'::regrole
 ORDER BY query COLLATE "C";

-- reset can be granted
GRANT EXECUTE ON FUNCTION perfguard.reset(bigint) TO regress_pfg_bob;
SET ROLE regress_pfg_bob;
SELECT perfguard.reset() > 0 AS bob_reset;
RESET ROLE;

DROP TABLE secrets;
REVOKE EXECUTE ON FUNCTION perfguard.reset(bigint) FROM regress_pfg_bob;
DROP ROLE regress_pfg_alice, regress_pfg_bob, regress_pfg_carol;
