//! Group commit on the single writer: bookings and appointment transitions waiting for the
//! writer run together in one `BEGIN IMMEDIATE` transaction with one `COMMIT`, so one fsync of
//! the write-ahead log carries many of them.
//!
//! Requests queue to one writer task. When the task gets the writer connection it takes every
//! request queued by then (at most [`MAX_GROUP`]; no request is made to wait for others) and
//! runs each inside its own savepoint with the same rules as alone (see
//! [`WriteStep`]): a refused request rolls back only its own savepoint (or releases it, when
//! its refusal keeps a write such as an overdue hold expired on the way), and the next request
//! sees exactly what the earlier ones left, as if they had run one after the other. Every
//! answer is sent only after the group's `COMMIT` succeeded, so a 2xx still means committed.
//!
//! When anything fails at the level of the group (the `BEGIN`, a database error inside a
//! request, which may have rolled back the whole transaction, or the `COMMIT`), nothing of the
//! group is committed, and each of its requests runs again alone in a transaction of its own,
//! with the usual retry on a busy database: a failure costs time, never a wrong answer.

use sqlx::SqlitePool;
use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot};

use super::appointments::booking::BookRequest;
use super::appointments::TransitionRequest;
use super::steps::{alone, Opening, Step, WriteStep};
use super::tx::{begin_write, db_now, WriteTx};
use crate::domain::store::Booked;
use crate::domain::{Appointment, DomainError, DomainResult};
use crate::observability as metrics;
use crate::store::retry::TxError;

/// Most requests in one group transaction: bounds how long the writer is held at once and how
/// much one failed group has to redo.
pub const MAX_GROUP: usize = 64;

/// Requests that may wait for the writer task before senders wait for room; the HTTP layer's
/// in-flight limit is the real bound.
const QUEUE: usize = 4096;

/// A request waiting for the writer task, with where its answer goes.
enum Job {
    Book(BookRequest, oneshot::Sender<DomainResult<Booked>>),
    Transition(
        TransitionRequest,
        oneshot::Sender<DomainResult<Appointment>>,
    ),
}

impl Job {
    /// Whether nobody waits for the answer any more (the request was cancelled, e.g. the
    /// client went away): such a job is dropped before it starts, as a cancelled request that
    /// never reached the database.
    fn abandoned(&self) -> bool {
        match self {
            Self::Book(_, tx) => tx.is_closed(),
            Self::Transition(_, tx) => tx.is_closed(),
        }
    }

    /// Runs the request inside the group's transaction, in a savepoint of its own opened by
    /// `opening`; returns its answer and how to close its savepoint.
    async fn run(
        &self,
        tx: &mut WriteTx,
        now: &str,
        opening: Opening,
    ) -> Result<(Answer, Opening), sqlx::Error> {
        Ok(match self {
            Self::Book(req, _) => {
                let (a, close) = in_savepoint(tx, now, req, opening).await?;
                (Answer::Book(a), close)
            }
            Self::Transition(req, _) => {
                let (a, close) = in_savepoint(tx, now, req, opening).await?;
                (Answer::Transition(a), close)
            }
        })
    }

    /// Sends the answer decided in the committed group.
    fn answer(self, answer: Answer) {
        // A closed receiver means the request was cancelled after its write committed: like a
        // lost response, nothing to undo.
        match (self, answer) {
            (Self::Book(_, tx), Answer::Book(a)) => drop(tx.send(counted(a))),
            (Self::Transition(_, tx), Answer::Transition(a)) => drop(tx.send(counted(a))),
            // Answers are paired with their own jobs; a mismatch cannot be built.
            (job, _) => job.fail_internal(),
        }
    }

    fn fail_internal(self) {
        let e = || DomainError::Internal("group commit answer mismatch".into());
        match self {
            Self::Book(_, tx) => drop(tx.send(Err(e()))),
            Self::Transition(_, tx) => drop(tx.send(Err(e()))),
        }
    }

    /// Runs the request again alone, on a task of its own on the shared runtime, so the
    /// writer task goes on with the next group (a lone run may wait on a busy database).
    fn rerun_alone(self, pool: &SqlitePool, shared: &Handle) {
        let pool = pool.clone();
        shared.spawn(async move {
            match self {
                Self::Book(req, tx) => drop(tx.send(alone(&pool, &req).await)),
                Self::Transition(req, tx) => drop(tx.send(alone(&pool, &req).await)),
            }
        });
    }
}

/// A request's decision inside the group, sent once the group committed.
enum Answer {
    Book(DomainResult<Booked>),
    Transition(DomainResult<Appointment>),
}

/// Counts the outcome as [`crate::store::retry::retry`] does for a transaction of its own.
fn counted<T>(answer: DomainResult<T>) -> DomainResult<T> {
    metrics::transaction(if answer.is_ok() {
        "committed"
    } else {
        "refused"
    });
    answer
}

/// Runs `step` inside savepoint `job`, after `opening` has closed the previous request's
/// savepoint and opened this one's (folded by the step into its first round trip where it can).
/// Returns the decision and how this request's savepoint is to be closed: released when the
/// request is done or refused keeping its writes, rolled back first when refused undoing them.
/// A database error comes back as the error of the whole group: after one, SQLite may have
/// rolled back the transaction itself.
async fn in_savepoint<S: WriteStep>(
    tx: &mut WriteTx,
    now: &str,
    step: &S,
    opening: Opening,
) -> Result<(DomainResult<S::Out>, Opening), sqlx::Error> {
    let decided: Step<S::Out> = step.step(tx, now, opening).await;
    match decided {
        Ok(decided) => Ok((decided, Opening::Next)),
        Err(TxError::Domain(e)) => Ok((Err(e), Opening::UndoThenNext)),
        Err(TxError::Db(e)) => Err(e),
    }
}

/// The handle requests are queued through; cloned with the store.
#[derive(Clone)]
pub struct GroupCommit {
    queue: mpsc::Sender<Job>,
    pool: SqlitePool,
}

impl GroupCommit {
    /// Starts the writer task; `None` outside a Tokio runtime (each write then runs alone).
    /// The task ends when the last handle is dropped.
    ///
    /// The task runs on a thread and runtime of its own: it is the one serial path of every
    /// booking, and each of its statements is a round trip to SQLite's worker thread. On the
    /// shared runtime each of those wake-ups would queue behind every HTTP task ready to run;
    /// on its own thread it waits only for the operating system's scheduler.
    pub fn start(pool: &SqlitePool, max_group: usize) -> Option<Self> {
        let shared = tokio::runtime::Handle::try_current().ok()?;
        let own = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        let (queue, jobs) = mpsc::channel(QUEUE);
        let writer_pool = pool.clone();
        let max_group = max_group.clamp(1, 1024);
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || own.block_on(writer(writer_pool, jobs, max_group, shared)))
            .ok()?;
        Some(Self {
            queue,
            pool: pool.clone(),
        })
    }

    /// Books through the writer task.
    pub async fn book(&self, req: BookRequest) -> DomainResult<Booked> {
        let (tx, rx) = oneshot::channel();
        if let Err(mpsc::error::SendError(Job::Book(req, _))) =
            self.queue.send(Job::Book(req, tx)).await
        {
            // The writer task is gone (its runtime is shutting down): write alone.
            return alone(&self.pool, &req).await;
        }
        rx.await.unwrap_or_else(|_| Err(gone()))
    }

    /// Confirms, cancels or completes through the writer task.
    pub async fn transition(&self, req: TransitionRequest) -> DomainResult<Appointment> {
        let (tx, rx) = oneshot::channel();
        if let Err(mpsc::error::SendError(Job::Transition(req, _))) =
            self.queue.send(Job::Transition(req, tx)).await
        {
            return alone(&self.pool, &req).await;
        }
        rx.await.unwrap_or_else(|_| Err(gone()))
    }
}

/// The writer task stopped before answering (only while the runtime shuts down): whether the
/// write committed is unknown, as with a connection lost at commit.
fn gone() -> DomainError {
    DomainError::Unavailable("the SQLite writer task stopped".into())
}

/// The writer task: one group transaction after the other.
async fn writer(pool: SqlitePool, mut jobs: mpsc::Receiver<Job>, max_group: usize, shared: Handle) {
    while let Some(first) = jobs.recv().await {
        if first.abandoned() {
            continue;
        }
        // Wait for the writer connection first and only then take what queued meanwhile: the
        // longer the wait, the larger the group.
        let tx = begin(&pool).await;
        let mut group = Vec::with_capacity(max_group);
        group.push(first);
        while group.len() < max_group {
            match jobs.try_recv() {
                Ok(job) if job.abandoned() => {}
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        match tx {
            Ok((tx, now)) => run_group(&pool, &shared, tx, &now, group).await,
            Err(e) => {
                tracing::warn!(error = %e, size = group.len(), "group commit could not begin; each write runs alone");
                for job in group {
                    job.rerun_alone(&pool, &shared);
                }
            }
        }
    }
}

/// `BEGIN IMMEDIATE` and the transaction's instant, shared by the whole group.
async fn begin(pool: &SqlitePool) -> Result<(WriteTx, String), sqlx::Error> {
    let mut tx = begin_write(pool).await?;
    let now = db_now(&mut tx).await?;
    Ok((tx, now))
}

/// Runs the group in `tx`, commits, then answers; on any failure reruns each job alone.
async fn run_group(
    pool: &SqlitePool,
    shared: &Handle,
    mut tx: WriteTx,
    now: &str,
    group: Vec<Job>,
) {
    let mut answers = Vec::with_capacity(group.len());
    let mut failed = None;
    let mut opening = Opening::First;
    for job in &group {
        match job.run(&mut tx, now, opening).await {
            Ok((answer, close)) => {
                answers.push(answer);
                opening = close;
            }
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    if failed.is_none() && opening == Opening::UndoThenNext {
        // The last request's writes are undone; a released savepoint is committed with the rest.
        failed = sqlx::query("ROLLBACK TO job").execute(&mut *tx).await.err();
    }
    let committed = match failed {
        // Dropping the transaction rolls it back.
        Some(e) => Err(e),
        None => tx.commit().await,
    };
    match committed {
        Ok(()) => {
            tracing::trace!(size = group.len(), "group committed");
            for (job, answer) in group.into_iter().zip(answers) {
                job.answer(answer);
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, size = group.len(), "group commit failed; each write runs alone");
            for job in group {
                job.rerun_alone(pool, shared);
            }
        }
    }
}
