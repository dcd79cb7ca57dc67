CREATE EXTENSION bgw_hits;
SELECT bgw_hits_hit('alpha');
SELECT bgw_hits_hit('alpha');
SELECT bgw_hits_hit('beta');
SELECT bgw_hits_count('alpha'), bgw_hits_count('beta'), bgw_hits_count('gamma');
SELECT bgw_hits_entries();
-- bgw_hits.max is 8 here: the ninth name does not fit.
SELECT bgw_hits_hit(column1) FROM (VALUES ('c'), ('d'), ('e'), ('f'), ('g'), ('h')) AS v;
SELECT bgw_hits_hit('one too many');
SELECT bgw_hits_reset();
SELECT bgw_hits_entries();
SELECT bgw_hits_hit('alpha');
DROP EXTENSION bgw_hits;
