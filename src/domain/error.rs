//! The error every use case can return. HTTP maps each variant to a status and a stable code.

/// One field at fault in a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's name as the client sent it (`slots[3].slot_time` for nested items).
    pub field: String,
    /// What is wrong with it, for humans.
    pub message: String,
}

impl FieldError {
    /// A field error from anything string-like.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Why a use case could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The input is malformed or breaks a rule; nothing was changed.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// The named resource does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A unique field (e-mail, licence number, slot time) is already taken.
    #[error("{0}")]
    Duplicate(String),
    /// The slot is blocked, full or already started.
    #[error("{0}")]
    SlotUnavailable(&'static str),
    /// The patient already holds a live appointment on the slot.
    #[error("patient already holds a live appointment on this slot")]
    AlreadyBooked,
    /// The PENDING hold ran past its expiry before it was confirmed.
    #[error("the hold expired before it was confirmed")]
    HoldExpired,
    /// The appointment's status does not allow the requested action.
    #[error("cannot {action} an appointment that is {from}")]
    InvalidTransition {
        /// The action asked for (`confirm`, `cancel`, `complete`).
        action: &'static str,
        /// The status the appointment is in.
        from: &'static str,
    },
    /// The patient already holds the most live PENDING appointments allowed.
    #[error("the patient already holds {0} pending appointments, the most allowed")]
    HoldLimit(i64),
    /// The idempotency key was used before with a different request body.
    #[error("idempotency key reused with a different request")]
    IdempotencyKeyReused,
    /// The appointment has been reviewed already (one review per appointment).
    #[error("this appointment has already been reviewed")]
    AlreadyReviewed,
    /// The appointment is not within the actor's reach (another patient's, another doctor's):
    /// answered as if it did not exist, and recorded as a refused attempt at that patient's
    /// data.
    #[error("appointment not found")]
    OutOfReach(crate::domain::ids::PatientId),
    /// A patient's booking, cancel or reschedule inside a notice window
    /// (`MIN_NOTICE_MINUTES`, `CANCEL_NOTICE_MINUTES`).
    #[error("{0}")]
    TooLate(String),
    /// Another state conflict, with its machine code (e.g. `INVALID_TRANSITION` for an outbox
    /// row that cannot be retried) and a sentence for the client.
    #[error("{message}")]
    Conflict {
        /// The stable code of the error envelope.
        code: &'static str,
        /// What stands in the way.
        message: String,
    },
    /// The database is down, or contention outlasted every retry.
    #[error("service temporarily unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A bug or an unexpected database failure.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl DomainError {
    /// A validation error about one field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }
}

impl DomainError {
    /// A 409 with its own code and message.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }
}

/// Result alias for use cases.
pub type DomainResult<T> = Result<T, DomainError>;
