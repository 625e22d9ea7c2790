-- Patient search (GET /api/patients?q=): each word of a query matches the start of a word of
-- the name, the e-mail or the phone (its groups, or all its digits), through an FTS5 index kept
-- by triggers (case and accents folded); an exact date of birth through a b-tree.
CREATE VIRTUAL TABLE patients_fts USING fts5(
    name, email, phone, tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO patients_fts (rowid, name, email, phone)
SELECT rowid, name, email,
       coalesce(phone, '') || ' ' || replace(replace(replace(replace(replace(coalesce(phone, ''),
           ' ', ''), '-', ''), '(', ''), ')', ''), '+', '')
FROM patients;
CREATE TRIGGER patients_fts_insert AFTER INSERT ON patients BEGIN
    INSERT INTO patients_fts (rowid, name, email, phone)
    VALUES (new.rowid, new.name, new.email,
            coalesce(new.phone, '') || ' ' || replace(replace(replace(replace(replace(
                coalesce(new.phone, ''), ' ', ''), '-', ''), '(', ''), ')', ''), '+', ''));
END;
CREATE TRIGGER patients_fts_update AFTER UPDATE OF name, email, phone ON patients BEGIN
    UPDATE patients_fts
    SET name = new.name, email = new.email,
        phone = coalesce(new.phone, '') || ' ' || replace(replace(replace(replace(replace(
                coalesce(new.phone, ''), ' ', ''), '-', ''), '(', ''), ')', ''), '+', '')
    WHERE rowid = old.rowid;
END;
CREATE TRIGGER patients_fts_delete AFTER DELETE ON patients BEGIN
    DELETE FROM patients_fts WHERE rowid = old.rowid;
END;
CREATE INDEX patients_birth_idx ON patients (date_of_birth);
