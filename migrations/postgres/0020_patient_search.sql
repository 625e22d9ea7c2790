-- Patient search (GET /api/patients?q=): each word of a query matches the start of a word of
-- the name, the e-mail or the phone (its groups, or all its digits), through a GIN index of a
-- 'simple' text-search vector (lower-cased, no stemming, no extension needed); an exact date
-- of birth through a b-tree.
CREATE INDEX patients_search_idx ON patients USING gin (to_tsvector('simple',
    coalesce(name, '') || ' ' || replace(replace(coalesce(email, ''), '.', ' '), '@', ' ') || ' '
    || coalesce(phone, '') || ' ' || regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g')));
CREATE INDEX patients_birth_idx ON patients (date_of_birth);
