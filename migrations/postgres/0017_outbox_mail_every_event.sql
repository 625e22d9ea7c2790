-- Every change the outbox tells of e-mails the patient too: a hold that lapsed (the seat is
-- gone; book again), a completed visit (a review may now be left) and a recorded no-show.
-- (Until now they queued an outbox row only when a webhook subscribed to them.)
UPDATE outbox_actions SET email = true WHERE action IN ('EXPIRE', 'COMPLETE', 'NO_SHOW');
