//! Notifications: per user, in-app first. A notification stores references only (its kind,
//! the task, who caused it); what it says is rendered from the task when it is read, so no
//! personal text is copied and erasing a contact erases what its notifications showed.
//!
//! Other channels (e-mail arrives with the identity work's SMTP settings) plug in as a
//! [`NotificationTransport`]: every notification created while transports are registered gets
//! one `notification_deliveries` row per channel, in the same transaction, and
//! [`Core::deliver_pending_notifications`] hands each due delivery to its transport with retry
//! and back-off. Task code only ever calls `notify`; it never knows about channels.

use crate::cursor;
use crate::tasks::ACTIVE_STATUSES;
use crate::{Actor, Core, CoreError};
use custodian_domain::clock::from_millis;
use custodian_domain::{NotificationId, TaskId, UserId};
use custodian_store::ConnectionTrait;
use custodian_store::entities::{notification, notification_delivery, task};
use custodian_store::page::KeyValue;
use custodian_store::repo;
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use uuid::Uuid;

/// Tasks examined per reminder batch (one transaction each).
const REMINDER_BATCH: u64 = 200;
/// Deliveries attempted per delivery run.
const DELIVERY_BATCH: u64 = 100;
/// After this many failed attempts a delivery is given up (`failed`).
const MAX_DELIVERY_ATTEMPTS: i64 = 5;
/// First retry after a minute, doubling.
const RETRY_BASE_MS: i64 = 60_000;
/// The unread count stops here (the bell shows "99+").
pub const UNREAD_COUNT_CAP: u64 = 100;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationKind {
    /// A task's reminder moment passed.
    TaskReminder,
    /// Someone else assigned a task to the recipient.
    TaskAssigned,
    /// A monitoring rule raised a security alert (security officers).
    SecurityAlert,
}

impl NotificationKind {
    pub fn code(self) -> &'static str {
        match self {
            NotificationKind::TaskReminder => "task_reminder",
            NotificationKind::TaskAssigned => "task_assigned",
            NotificationKind::SecurityAlert => "security_alert",
        }
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize)]
pub struct NotificationView {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: NotificationId,
    /// `task_reminder` or `task_assigned`.
    pub kind: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub task_id: Option<TaskId>,
    /// The task's title, read from the task now; absent when the task is deleted.
    pub task_title: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub task_due_at: Option<time::OffsetDateTime>,
    /// The security alert it is about, and the alert's rule code.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub alert_id: Option<Uuid>,
    pub alert_rule: Option<String>,
    /// Who caused it (the assigner); absent for reminders.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub actor_id: Option<UserId>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub read_at: Option<time::OffsetDateTime>,
}

impl fmt::Debug for NotificationView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotificationView")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Default)]
pub struct NotificationQuery {
    pub unread_only: bool,
    pub cursor: Option<String>,
    pub limit: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct NotificationPage {
    pub items: Vec<NotificationView>,
    pub next_cursor: Option<String>,
}

/// The one sort of notification lists (newest first), which cursors are bound to.
const SORT_CODE: &str = "-created";

/// One notification rendered for an outside channel. Holds personal data (the recipient's
/// address, the task's title): redacted `Debug`, never logged.
#[derive(Clone)]
pub struct OutboundNotification {
    pub notification_id: NotificationId,
    pub channel: String,
    pub recipient: UserId,
    pub recipient_email: String,
    pub recipient_locale: Option<String>,
    pub kind: String,
    pub task_id: Option<TaskId>,
    pub task_title: Option<String>,
    pub task_due_at: Option<time::OffsetDateTime>,
    pub alert_id: Option<Uuid>,
    pub alert_rule: Option<String>,
}

impl fmt::Debug for OutboundNotification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboundNotification")
            .field("notification_id", &self.notification_id)
            .field("channel", &self.channel)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Why a transport could not deliver: a stable code (stored, so never a message that could
/// carry data) and whether trying again can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryError {
    pub code: &'static str,
    pub permanent: bool,
}

pub type DeliveryFuture<'a> = Pin<Box<dyn Future<Output = Result<(), DeliveryError>> + Send + 'a>>;

/// An outside channel for notifications (e-mail, chat…). Register it with
/// [`Core::add_notification_transport`]; in-app notifications need none.
pub trait NotificationTransport: Send + Sync + fmt::Debug {
    /// Stable channel name stored with each delivery (`email`).
    fn channel(&self) -> &'static str;
    fn deliver<'a>(&'a self, message: &'a OutboundNotification) -> DeliveryFuture<'a>;
}

/// What one delivery run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
}

#[derive(Debug, Default)]
pub(crate) struct Transports {
    list: std::sync::RwLock<Vec<Arc<dyn NotificationTransport>>>,
}

impl Transports {
    fn snapshot(&self) -> Vec<Arc<dyn NotificationTransport>> {
        self.list
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

fn not_found() -> CoreError {
    CoreError::NotFound {
        entity: "notification",
    }
}

impl Core {
    /// Registers an outside channel; notifications created from now on are also delivered
    /// through it. A second transport for the same channel replaces the first.
    pub fn add_notification_transport(&self, transport: Arc<dyn NotificationTransport>) {
        let mut list = self
            .inner
            .transports
            .list
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        list.retain(|t| t.channel() != transport.channel());
        list.push(transport);
    }

    /// Records a notification for `user` inside the caller's transaction, plus one pending
    /// delivery per registered outside channel.
    pub(crate) async fn notify<C: ConnectionTrait>(
        &self,
        txn: &C,
        user: Uuid,
        kind: NotificationKind,
        task_id: Uuid,
        actor: Option<Uuid>,
        now: i64,
    ) -> Result<NotificationId, CoreError> {
        let id = NotificationId::new_at(now);
        self.insert_notification(
            txn,
            notification::Model {
                id: id.as_uuid(),
                user_id: user,
                kind: kind.code().to_owned(),
                task_id: Some(task_id),
                actor_id: actor,
                created_at: now,
                read_at: None,
                alert_id: None,
            },
        )
        .await?;
        Ok(id)
    }

    /// Tells a security officer about a new alert, in the caller's transaction (in-app, and
    /// through every outside channel).
    pub(crate) async fn notify_alert<C: ConnectionTrait>(
        &self,
        txn: &C,
        user: Uuid,
        alert_id: Uuid,
        now: i64,
    ) -> Result<(), CoreError> {
        self.insert_notification(
            txn,
            notification::Model {
                id: NotificationId::new_at(now).as_uuid(),
                user_id: user,
                kind: NotificationKind::SecurityAlert.code().to_owned(),
                task_id: None,
                actor_id: None,
                created_at: now,
                read_at: None,
                alert_id: Some(alert_id),
            },
        )
        .await
    }

    async fn insert_notification<C: ConnectionTrait>(
        &self,
        txn: &C,
        row: notification::Model,
    ) -> Result<(), CoreError> {
        let (id, now) = (row.id, row.created_at);
        repo::notifications::insert(txn, row).await?;
        for transport in self.inner.transports.snapshot() {
            repo::notifications::insert_delivery(
                txn,
                notification_delivery::Model {
                    id: custodian_domain::ids::uuid_at(now),
                    notification_id: id,
                    channel: transport.channel().to_owned(),
                    status: "pending".to_owned(),
                    attempts: 0,
                    next_attempt_at: now,
                    last_error: None,
                    delivered_at: None,
                    created_at: now,
                },
            )
            .await?;
        }
        Ok(())
    }

    /// The reminder sweep: every live, still-open task whose reminder moment has passed and
    /// that has not been reminded gets one notification for its assignee, and `reminded_at`
    /// set in the same transaction. Claiming `reminded_at` is conditional, so running the
    /// sweep twice (or on two nodes at once) never reminds twice. Returns how many were sent.
    pub async fn send_due_reminders(&self) -> Result<usize, CoreError> {
        let statuses: Vec<&str> = ACTIVE_STATUSES.iter().map(|s| s.code()).collect();
        let mut sent = 0;
        loop {
            let now = self.now();
            let due =
                repo::tasks::due_reminders(self.store().conn(), now, &statuses, REMINDER_BATCH)
                    .await?;
            let txn = self.store().begin().await?;
            for task in &due {
                if repo::tasks::claim_reminder(&txn, task.id, now, &statuses).await? {
                    self.notify(
                        &txn,
                        task.assignee_id,
                        NotificationKind::TaskReminder,
                        task.id,
                        None,
                        now,
                    )
                    .await?;
                    sent += 1;
                }
            }
            txn.commit().await?;
            if (due.len() as u64) < REMINDER_BATCH {
                return Ok(sent);
            }
        }
    }

    pub async fn list_notifications(
        &self,
        actor: &Actor,
        query: NotificationQuery,
    ) -> Result<NotificationPage, CoreError> {
        let limit = cursor::page_size(query.limit)?;
        let after = query
            .cursor
            .as_deref()
            .map(|c| cursor::decode(SORT_CODE, c))
            .transpose()?;
        let conn = self.store().conn();
        let page = repo::notifications::list_for_user(
            conn,
            actor.user_id.as_uuid(),
            query.unread_only,
            after.as_ref(),
            limit,
        )
        .await?;
        let next_cursor = cursor::next(SORT_CODE, &page, |last| {
            (KeyValue::Int(last.created_at), last.id)
        });
        let items = self.notification_views(conn, &page.items).await?;
        Ok(NotificationPage { items, next_cursor })
    }

    /// Unread notifications of the acting user, up to [`UNREAD_COUNT_CAP`].
    pub async fn unread_notification_count(&self, actor: &Actor) -> Result<u64, CoreError> {
        Ok(repo::notifications::unread_count(
            self.store().conn(),
            actor.user_id.as_uuid(),
            UNREAD_COUNT_CAP,
        )
        .await?)
    }

    /// Marks one of the acting user's notifications read. Another user's notification is
    /// "not found", exactly like one that does not exist.
    pub async fn mark_notification_read(
        &self,
        actor: &Actor,
        id: NotificationId,
    ) -> Result<NotificationView, CoreError> {
        let txn = self.store().begin().await?;
        let mine =
            repo::notifications::mark_read(&txn, actor.user_id.as_uuid(), id.as_uuid(), self.now())
                .await?;
        if !mine {
            return Err(not_found());
        }
        let row = repo::notifications::get(&txn, id.as_uuid())
            .await?
            .ok_or_else(not_found)?;
        txn.commit().await?;
        let mut views = self
            .notification_views(self.store().conn(), std::slice::from_ref(&row))
            .await?;
        views.pop().ok_or_else(not_found)
    }

    /// Marks all of the acting user's notifications read; returns how many were unread.
    pub async fn mark_all_notifications_read(&self, actor: &Actor) -> Result<u64, CoreError> {
        let txn = self.store().begin().await?;
        let n =
            repo::notifications::mark_all_read(&txn, actor.user_id.as_uuid(), self.now()).await?;
        txn.commit().await?;
        Ok(n)
    }

    /// Renders notifications: the live tasks they point at are loaded with one query, their
    /// keys with another, and only the titles are decrypted.
    async fn notification_views<C: ConnectionTrait>(
        &self,
        conn: &C,
        rows: &[notification::Model],
    ) -> Result<Vec<NotificationView>, CoreError> {
        let tasks = self.live_tasks_by_id(conn, rows).await?;
        let alert_rules = alert_rules(conn, rows).await?;
        rows.iter()
            .map(|row| {
                let task = row.task_id.and_then(|id| tasks.get(&id));
                Ok(NotificationView {
                    id: NotificationId(row.id),
                    kind: row.kind.clone(),
                    task_id: row.task_id.map(TaskId),
                    task_title: task.map(|(_, title)| title.clone()),
                    task_due_at: task.and_then(|(t, _)| t.due_at).map(from_millis),
                    alert_id: row.alert_id,
                    alert_rule: row.alert_id.and_then(|id| alert_rules.get(&id).cloned()),
                    actor_id: row.actor_id.map(UserId),
                    created_at: from_millis(row.created_at),
                    read_at: row.read_at.map(from_millis),
                })
            })
            .collect()
    }

    /// The undeleted tasks the notifications point at, with their decrypted titles.
    async fn live_tasks_by_id<C: ConnectionTrait>(
        &self,
        conn: &C,
        rows: &[notification::Model],
    ) -> Result<HashMap<Uuid, (task::Model, String)>, CoreError> {
        let mut ids: Vec<Uuid> = rows.iter().filter_map(|r| r.task_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let tasks: Vec<task::Model> = repo::tasks::get_many(conn, &ids)
            .await?
            .into_iter()
            .filter(|t| t.deleted_at.is_none())
            .collect();
        let key_ids: Vec<Uuid> = tasks.iter().map(|t| t.dek_id).collect();
        let keys = self.keys().data_keys(conn, &key_ids).await?;
        tasks
            .into_iter()
            .zip(keys)
            .map(|(t, key)| {
                let title = self.task_title(&key, &t)?;
                Ok((t.id, (t, title)))
            })
            .collect()
    }

    /// Hands due deliveries to their transports. A delivery whose channel has no transport on
    /// this node stays pending (another node may have it). Transient failures are retried
    /// with doubling back-off up to [`MAX_DELIVERY_ATTEMPTS`]; permanent ones fail at once.
    pub async fn deliver_pending_notifications(&self) -> Result<DeliveryReport, CoreError> {
        let transports = self.inner.transports.snapshot();
        let mut report = DeliveryReport::default();
        if transports.is_empty() {
            return Ok(report);
        }
        let conn = self.store().conn();
        let due = repo::notifications::due_deliveries(conn, self.now(), DELIVERY_BATCH).await?;
        for delivery in due {
            let Some(transport) = transports.iter().find(|t| t.channel() == delivery.channel)
            else {
                continue;
            };
            let result = match self.outbound(conn, &delivery).await? {
                Some(message) => transport.deliver(&message).await,
                None => Err(DeliveryError {
                    code: "notification_gone",
                    permanent: true,
                }),
            };
            let now = self.now();
            let mut row = delivery.clone();
            row.attempts = delivery.attempts + 1;
            match result {
                Ok(()) => {
                    row.status = "sent".to_owned();
                    row.delivered_at = Some(now);
                    row.last_error = None;
                    report.sent += 1;
                }
                Err(e) if e.permanent || row.attempts >= MAX_DELIVERY_ATTEMPTS => {
                    row.status = "failed".to_owned();
                    row.last_error = Some(e.code.to_owned());
                    report.failed += 1;
                }
                Err(e) => {
                    let backoff = RETRY_BASE_MS.saturating_mul(1 << (row.attempts - 1).min(20));
                    row.next_attempt_at = now.saturating_add(backoff);
                    row.last_error = Some(e.code.to_owned());
                    report.retried += 1;
                }
            }
            let txn = self.store().begin().await?;
            repo::notifications::record_attempt(&txn, row, delivery.attempts).await?;
            txn.commit().await?;
        }
        Ok(report)
    }

    /// The message for one delivery: recipient address and language, and the task's title
    /// read now. `None` when the notification no longer exists.
    async fn outbound<C: ConnectionTrait>(
        &self,
        conn: &C,
        delivery: &notification_delivery::Model,
    ) -> Result<Option<OutboundNotification>, CoreError> {
        let Some(row) = repo::notifications::get(conn, delivery.notification_id).await? else {
            return Ok(None);
        };
        let Some(user) = repo::users::get(conn, row.user_id).await? else {
            return Ok(None);
        };
        let org = self.keys().org_key(conn).await?;
        let recipient_email =
            self.keys()
                .decrypt_string(&org, "users", "email", user.id, &user.email_ct)?;
        let tasks = self
            .live_tasks_by_id(conn, std::slice::from_ref(&row))
            .await?;
        let task = row.task_id.and_then(|id| tasks.get(&id));
        let alert_rule = alert_rules(conn, std::slice::from_ref(&row))
            .await?
            .into_values()
            .next();
        Ok(Some(OutboundNotification {
            alert_id: row.alert_id,
            alert_rule,
            notification_id: NotificationId(row.id),
            channel: delivery.channel.clone(),
            recipient: UserId(row.user_id),
            recipient_email,
            recipient_locale: user.locale,
            kind: row.kind,
            task_id: row.task_id.map(TaskId),
            task_title: task.map(|(_, title)| title.clone()),
            task_due_at: task.and_then(|(t, _)| t.due_at).map(from_millis),
        }))
    }
}

/// The rule codes of the alerts that notifications point at.
async fn alert_rules<C: ConnectionTrait>(
    conn: &C,
    rows: &[notification::Model],
) -> Result<HashMap<Uuid, String>, CoreError> {
    let mut rules = HashMap::new();
    for id in rows.iter().filter_map(|r| r.alert_id) {
        if let std::collections::hash_map::Entry::Vacant(slot) = rules.entry(id)
            && let Some(alert) = repo::alerts::get(conn, id).await?
        {
            slot.insert(alert.rule);
        }
    }
    Ok(rules)
}

/// Task and alert notifications by e-mail, through the configured mailer.
#[derive(Debug)]
pub(crate) struct EmailNotifications {
    mailer: Arc<dyn crate::outbound::Mailer>,
    public_url: String,
}

impl EmailNotifications {
    pub(crate) fn new(mailer: Arc<dyn crate::outbound::Mailer>, public_url: String) -> Self {
        Self { mailer, public_url }
    }
}

impl NotificationTransport for EmailNotifications {
    fn channel(&self) -> &'static str {
        "email"
    }

    fn deliver<'a>(&'a self, message: &'a OutboundNotification) -> DeliveryFuture<'a> {
        Box::pin(async move {
            let zh = crate::outbound::is_chinese(message.recipient_locale.as_deref());
            if let Some(alert) = message.alert_id {
                let link = format!("{}/security/alerts/{alert}", self.public_url);
                let rule = message.alert_rule.as_deref().unwrap_or_default();
                let mail =
                    crate::messages::alert_mail(message.recipient_email.clone(), rule, &link, zh);
                return self.mailer.send(&mail).await;
            }
            let link = match message.task_id {
                Some(task) => format!("{}/tasks/{}", self.public_url, task.as_uuid()),
                None => format!("{}/notifications", self.public_url),
            };
            let due = message.task_due_at.and_then(|d| {
                d.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            });
            let mail = crate::messages::task_mail(
                message.recipient_email.clone(),
                &message.kind,
                due.as_deref(),
                &link,
                crate::outbound::is_chinese(message.recipient_locale.as_deref()),
            );
            self.mailer.send(&mail).await
        })
    }
}
