//! The outbox worker: claims due rows under a lease, delivers each after its change committed,
//! and settles it. At-least-once: a worker killed mid-delivery leaves the row leased, and once
//! the lease runs out another worker (or this one after a restart) delivers it again.
//! Several instances on one database never hold one row at once: claims skip leased rows.

use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use tokio::sync::watch;

use super::channels::Channels;
use super::notice::{DeliveryError, Notice};
use crate::config::NotifySettings;
use crate::domain::outbox::{Channel, Claimed, Settlement};
use crate::domain::store::Store;
use crate::domain::DomainResult;

/// Rows claimed per step.
pub const BATCH: i64 = 50;
/// Deliveries in flight at once within a step (never two of one appointment and receiver:
/// a claim holds only the earliest pending row of each).
const PARALLEL: usize = 8;
/// The longest wait between two attempts.
const MAX_BACKOFF_SECS: i64 = 3600;

/// What one step did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub delivered: u64,
    pub skipped: u64,
    pub retried: u64,
    pub dead: u64,
}

/// One step: claims up to [`BATCH`] due rows, delivers them and settles each.
pub async fn deliver_once(
    store: &dyn Store,
    channels: &Channels,
    settings: &NotifySettings,
) -> DomainResult<Step> {
    let lease_secs = settings.lease.as_secs().max(3) as i64;
    let claimed = store.claim_outbox(BATCH, lease_secs).await?;
    let mut step = Step::default();
    let Some(lease) = claimed.first().map(|c| c.lease) else {
        return Ok(step);
    };
    let ids: Vec<i64> = claimed.iter().map(|c| c.item.id).collect();
    let deliveries = stream::iter(claimed)
        .map(|c| async move {
            let settlement = settlement(&c, guarded_deliver(&c, channels).await, settings);
            (c, settlement)
        })
        .buffer_unordered(PARALLEL)
        .collect::<Vec<_>>();
    let settled = keep_leased(store, lease, &ids, lease_secs, deliveries).await;
    let mut rows = Vec::with_capacity(settled.len());
    for (c, s) in settled {
        let (counter, outcome) = match &s {
            Settlement::Delivered => (&mut step.delivered, "delivered"),
            Settlement::Skipped(_) => (&mut step.skipped, "skipped"),
            Settlement::Retry { .. } => (&mut step.retried, "retry"),
            Settlement::Dead(_) => (&mut step.dead, "dead"),
        };
        *counter += 1;
        crate::observability::outbox_settled(c.item.channel.as_str(), outcome);
        tracing::debug!(outbox_id = c.item.id, event = %c.item.event, outcome = ?s, "outbox row settled");
        rows.push((c.item.id, s));
    }
    // One claim, one lease: the whole step settles in one transaction, not one commit per
    // row (each booking queues a row, so that was a second commit per booking). A lost lease
    // means another worker took the row over; its settle counts.
    store.settle_outbox_all(lease, &rows).await?;
    Ok(step)
}

/// Runs a step's deliveries while renewing its lease (`secs` long, at least 3, as
/// [`deliver_once`] clamps it) every third of its length: a slow receiver (30 s an e-mail,
/// 15 s a webhook, 50 rows 8 at a time) never lets another worker take over rows still queued
/// in this step, yet a crashed worker's rows wait only one lease. A renewal that fails is
/// logged; the rows may then go to another worker and be sent twice (delivery is at least
/// once).
async fn keep_leased<T>(
    store: &dyn Store,
    lease: uuid::Uuid,
    ids: &[i64],
    secs: i64,
    work: impl std::future::Future<Output = T>,
) -> T {
    let every = Duration::from_secs(secs as u64) / 3;
    let renewing = async {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            tick.tick().await;
            if let Err(e) = store.renew_outbox_lease(lease, ids, secs).await {
                tracing::warn!(error = %e, "outbox lease not renewed");
            }
        }
    };
    tokio::select! {
        out = work => out,
        never = renewing => never,
    }
}

/// Why a row has nothing to deliver, if so.
fn nothing_to_send(c: &Claimed, channels: &Channels) -> Option<&'static str> {
    let facts = c.facts.as_ref()?;
    match c.item.channel {
        Channel::Email if channels.mailer.is_none() => {
            Some("e-mail is off (no SMTP_URL, MAIL_DIR off)")
        }
        Channel::Email if c.item.event == "appointment.reminder" && facts.status != "CONFIRMED" => {
            Some("the appointment is no longer confirmed")
        }
        Channel::Email
            if c.item.event == "appointment.reminder"
                && c.reminder_hours.is_some_and(|h| {
                    facts.starts_at - chrono::Utc::now() > chrono::Duration::hours(i64::from(h))
                }) =>
        {
            Some("the appointment moved out of the reminder's window")
        }
        Channel::Webhook if c.webhook.is_none() => Some("the webhook was deleted"),
        _ => None,
    }
}

/// [`deliver`], with a panic while building or sending the message taken as that row's
/// failed attempt: the other rows of the step go on, and the row is retried and at last dead
/// like any other failure.
async fn guarded_deliver(
    c: &Claimed,
    channels: &Channels,
) -> Result<Option<&'static str>, DeliveryError> {
    use futures_util::FutureExt;
    std::panic::AssertUnwindSafe(deliver(c, channels))
        .catch_unwind()
        .await
        .unwrap_or_else(|_| {
            tracing::error!(outbox_id = c.item.id, "delivering an outbox row panicked");
            Err(DeliveryError::transient(
                "the message could not be built (internal error)",
            ))
        })
}

/// Delivers one claimed row: `Ok(None)` when sent, `Ok(Some(reason))` when there was nothing
/// to send.
async fn deliver(c: &Claimed, channels: &Channels) -> Result<Option<&'static str>, DeliveryError> {
    let Some(facts) = c.facts.clone() else {
        return Ok(Some("the appointment no longer exists"));
    };
    if let Some(why) = nothing_to_send(c, channels) {
        return Ok(Some(why));
    }
    let notice = Notice {
        outbox_id: c.item.id,
        event: c.item.event.clone(),
        occurred_at: c.item.created_at,
        facts,
        reminder_hours: c.reminder_hours,
    };
    match (&c.item.channel, &channels.mailer, &c.webhook) {
        (Channel::Email, Some(mailer), _) => mailer.send(&notice).await.map(|()| None),
        (Channel::Webhook, _, Some(target)) => channels.post(target, &notice).await.map(|()| None),
        _ => Ok(Some("no receiver")),
    }
}

/// How a delivery attempt settles its row: failures retry with exponential backoff (with
/// jitter, so rows that failed together do not retry together) until the last attempt.
fn settlement(
    c: &Claimed,
    outcome: Result<Option<&'static str>, DeliveryError>,
    settings: &NotifySettings,
) -> Settlement {
    match outcome {
        Ok(None) => Settlement::Delivered,
        Ok(Some(why)) => Settlement::Skipped(why.to_owned()),
        Err(e) if e.permanent || c.item.attempts >= settings.max_attempts as i32 => {
            Settlement::Dead(e.message)
        }
        Err(e) => Settlement::Retry {
            after_secs: backoff(settings.retry_base, c.item.attempts),
            error: e.message,
        },
    }
}

/// Seconds before the next attempt after `attempts` tries: base × 2^(attempts-1), at most an
/// hour, plus up to a tenth of jitter.
pub fn backoff(base: Duration, attempts: i32) -> i64 {
    let exp = attempts.clamp(1, 20) - 1;
    let secs = (base.as_secs().max(1) as i64)
        .saturating_mul(1 << exp)
        .min(MAX_BACKOFF_SECS);
    secs + fastrand::i64(0..=secs / 10)
}

/// Delivers every `poll_interval` (and queues reminders every few seconds) until `stop`.
pub async fn run(
    store: Arc<dyn Store>,
    channels: Arc<Channels>,
    settings: NotifySettings,
    health: Arc<crate::jobs::health::JobHealth>,
    mut stop: watch::Receiver<bool>,
) {
    // The first step one interval after start, not at once: an instance joining others (or a
    // test's second instance) does not race them for rows the moment it starts.
    let first = tokio::time::Instant::now() + settings.poll_interval;
    let mut tick = tokio::time::interval_at(first, settings.poll_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut reminders = super::reminders::Schedule::new(settings.reminder_hours.clone());
    loop {
        tokio::select! {
            _ = tick.tick() => {
                reminders.maybe_run(&*store, &health).await;
                health.step(crate::jobs::health::OUTBOX, drain(&*store, &channels, &settings)).await;
            }
            _ = stop.changed() => break,
        }
    }
    tracing::debug!("outbox worker stopped");
}

/// Steps until a step comes back short, so a backlog drains without waiting for ticks.
async fn drain(
    store: &dyn Store,
    channels: &Channels,
    settings: &NotifySettings,
) -> DomainResult<()> {
    loop {
        let step = deliver_once(store, channels, settings).await?;
        if step.delivered + step.skipped + step.retried + step.dead < BATCH as u64 {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let base = Duration::from_secs(10);
        for (attempts, low) in [(1, 10), (2, 20), (3, 40), (4, 80), (12, 3600), (40, 3600)] {
            let b = backoff(base, attempts);
            assert!(
                (low..=low + low / 10).contains(&b),
                "attempt {attempts}: {b}"
            );
        }
    }
}
