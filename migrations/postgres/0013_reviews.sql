-- Reviews (issue 13): a patient rates a COMPLETED appointment once, 1 to 5, with an optional
-- comment. The table holds no patient column: whose review it is follows from the appointment,
-- and the public list (GET /api/doctors/{id}/reviews) has nothing to leak.
CREATE TABLE reviews (
    id             uuid PRIMARY KEY,
    appointment_id uuid NOT NULL REFERENCES appointments (id),
    -- The appointment's doctor, copied so a doctor's reviews are listed without a join.
    doctor_id      uuid NOT NULL REFERENCES doctors (id),
    rating         integer NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment        text CHECK (char_length(comment) BETWEEN 1 AND 2000),
    created_at     timestamptz NOT NULL DEFAULT now(),
    -- One review per appointment: a second (or a racing) insert is refused here and answered
    -- 409 ALREADY_REVIEWED.
    CONSTRAINT reviews_appointment_id_key UNIQUE (appointment_id)
);
-- A doctor's reviews, newest first.
CREATE INDEX reviews_doctor_idx ON reviews (doctor_id, created_at DESC, id DESC);

-- Only a COMPLETED appointment is reviewed, and the review names its doctor, whatever the code
-- does.
CREATE FUNCTION review_fits_appointment() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM appointments
                   WHERE id = NEW.appointment_id AND doctor_id = NEW.doctor_id
                     AND status = 'COMPLETED') THEN
        RAISE EXCEPTION 'a review needs a COMPLETED appointment of its doctor'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER reviews_fit_appointment
    BEFORE INSERT OR UPDATE OF appointment_id, doctor_id ON reviews
    FOR EACH ROW EXECUTE FUNCTION review_fits_appointment();

-- Each doctor's rating as a running sum and count, so reading a doctor stays one row with no
-- aggregate. Kept by a trigger on every write path (the review use case, import), in the
-- review's own transaction; the CHECK holds after each step of the trigger too. The average
-- is worked out when a doctor is answered.
ALTER TABLE doctors
    ADD COLUMN rating_count bigint NOT NULL DEFAULT 0,
    ADD COLUMN rating_sum bigint NOT NULL DEFAULT 0,
    ADD CONSTRAINT doctors_rating_check
        CHECK (rating_count >= 0 AND rating_sum BETWEEN rating_count AND 5 * rating_count);
-- Room on each page so the trigger's update stays HOT (no new index entries a concurrent
-- booking's read of a doctor could conflict with; see 0005). Applies to pages written from now.
ALTER TABLE doctors SET (fillfactor = 50);

CREATE FUNCTION rate_doctor() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE doctors SET rating_sum = rating_sum - OLD.rating, rating_count = rating_count - 1
        WHERE id = OLD.doctor_id;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        UPDATE doctors SET rating_sum = rating_sum + NEW.rating, rating_count = rating_count + 1
        WHERE id = NEW.doctor_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER reviews_rate_doctor
    AFTER INSERT OR DELETE OR UPDATE OF rating, doctor_id ON reviews
    FOR EACH ROW EXECUTE FUNCTION rate_doctor();
