-- Reviews (issue 13), as PostgreSQL's 0013: a patient rates a COMPLETED appointment once, 1 to
-- 5, with an optional comment. No patient column: whose review it is follows from the
-- appointment, and the public list has nothing to leak.
CREATE TABLE reviews (
    id             BLOB PRIMARY KEY CHECK (length(id) = 16),
    -- One review per appointment: a second insert is refused here (409 ALREADY_REVIEWED).
    appointment_id BLOB NOT NULL UNIQUE REFERENCES appointments (id),
    -- The appointment's doctor, copied so a doctor's reviews are listed without a join.
    doctor_id      BLOB NOT NULL REFERENCES doctors (id),
    rating         INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment        TEXT CHECK (length(comment) BETWEEN 1 AND 2000),
    created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
                   CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z')
) STRICT;
-- A doctor's reviews, newest first.
CREATE INDEX reviews_doctor_idx ON reviews (doctor_id, created_at DESC, id DESC);

-- Only a COMPLETED appointment is reviewed, and the review names its doctor, whatever the code
-- does.
CREATE TRIGGER reviews_fit_appointment_insert BEFORE INSERT ON reviews
WHEN NOT EXISTS (SELECT 1 FROM appointments WHERE id = NEW.appointment_id
                 AND doctor_id = NEW.doctor_id AND status = 'COMPLETED')
BEGIN SELECT RAISE(ABORT, 'a review needs a COMPLETED appointment of its doctor'); END;
CREATE TRIGGER reviews_fit_appointment_update BEFORE UPDATE OF appointment_id, doctor_id ON reviews
WHEN NOT EXISTS (SELECT 1 FROM appointments WHERE id = NEW.appointment_id
                 AND doctor_id = NEW.doctor_id AND status = 'COMPLETED')
BEGIN SELECT RAISE(ABORT, 'a review needs a COMPLETED appointment of its doctor'); END;

-- Each doctor's rating as a running sum and count, so reading a doctor stays one row with no
-- aggregate; kept by the triggers below on every write path (the review use case, import), in
-- the review's own transaction.
ALTER TABLE doctors ADD COLUMN rating_count INTEGER NOT NULL DEFAULT 0 CHECK (rating_count >= 0);
ALTER TABLE doctors ADD COLUMN rating_sum INTEGER NOT NULL DEFAULT 0
    CHECK (rating_sum BETWEEN rating_count AND 5 * rating_count);

CREATE TRIGGER reviews_rate_doctor_insert AFTER INSERT ON reviews
BEGIN
    UPDATE doctors SET rating_sum = rating_sum + NEW.rating, rating_count = rating_count + 1
    WHERE id = NEW.doctor_id;
END;
CREATE TRIGGER reviews_rate_doctor_delete AFTER DELETE ON reviews
BEGIN
    UPDATE doctors SET rating_sum = rating_sum - OLD.rating, rating_count = rating_count - 1
    WHERE id = OLD.doctor_id;
END;
CREATE TRIGGER reviews_rate_doctor_update AFTER UPDATE OF rating, doctor_id ON reviews
BEGIN
    UPDATE doctors SET rating_sum = rating_sum - OLD.rating, rating_count = rating_count - 1
    WHERE id = OLD.doctor_id;
    UPDATE doctors SET rating_sum = rating_sum + NEW.rating, rating_count = rating_count + 1
    WHERE id = NEW.doctor_id;
END;
