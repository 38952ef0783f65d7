//! Use cases: load what a request needs, apply the domain rules, persist the result in one
//! transaction, and say what happened. The HTTP layer and the scheduler call into this.

mod accounts;
mod act;
mod applications;
mod attachments;
mod audit;
mod certifications;
mod clock;
mod clocks;
mod context;
mod directory;
mod loader;
mod mail;
mod money;
mod page;
mod programme;
mod sign_in;
mod timers;
mod transition;
mod view;

use std::path::PathBuf;
use std::sync::Arc;

use sea_orm::DatabaseConnection;

pub use accounts::{FirstUser, LoginResult, NewEnterprise, NewUser, Registration, RoleGrant, UserPatch, UserView};
pub use applications::{ActionRequest, ListFilter, StateCount, TaskItem};
pub use attachments::{AttachmentInfo, Upload};
pub use audit::{AuditReport, Gauges, Tally};
pub use clock::{Clock, SystemClock, TestClock};
pub use directory::{CaseLine, EnterpriseFilter, EnterpriseLine, QueueItem};
pub use loader::{Definitions, load_definitions};
pub use mail::{MailSettings, MailView, Mailer};
pub use page::Blocker;
pub use sign_in::{Limited, Limits};
pub use view::{ApplicationSummary, ApplicationView, CertificationView, EnterpriseView, Page};

use crate::auth::jwt::JwtKeys;
use crate::domain::expr::ExprEngine;

/// The engine: every use case hangs off this, and every field is cheap to clone.
#[derive(Clone)]
pub struct Engine {
    pub db: DatabaseConnection,
    pub defs: Arc<Definitions>,
    pub expr: ExprEngine,
    pub clock: Arc<dyn Clock>,
    pub jwt: JwtKeys,
    pub uploads: PathBuf,
    pub mail: Arc<mail::Mailer>,
    /// The public address of the server, for links in e-mails.
    pub base_url: String,
    /// How long a claimed timer or message stays with the process that claimed it; after that
    /// another process takes it over (the first one died).
    pub lease: chrono::Duration,
    /// Rates per client address and the sign-in throttle's decoy hash.
    pub limits: Arc<Limits>,
    /// How long an idempotency key keeps its response.
    pub idempotency_ttl: chrono::Duration,
}

impl Engine {
    pub fn new(
        db: DatabaseConnection,
        defs: Definitions,
        clock: Arc<dyn Clock>,
        jwt: JwtKeys,
        uploads: PathBuf,
        mail: MailSettings,
        base_url: String,
    ) -> anyhow::Result<Engine> {
        let mailer = mail::Mailer::new(mail, &defs.templates_dir)?;
        Ok(Engine {
            db,
            defs: Arc::new(defs),
            expr: ExprEngine::new(),
            clock,
            jwt,
            uploads,
            mail: Arc::new(mailer),
            base_url,
            lease: chrono::Duration::seconds(60),
            limits: Arc::new(Limits::default()),
            idempotency_ttl: chrono::Duration::hours(24),
        })
    }

    /// The CSRF token of a browser session (or of a pre-session id on the sign-in form): a
    /// keyed hash of it, so it needs no storage and changes with the session.
    pub fn csrf_token(&self, session: &str) -> String {
        self.jwt.mac(format!("csrf:{session}").as_bytes())
    }

    /// The current time, truncated to microseconds so it survives a round trip through PostgreSQL.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        clock::truncate(self.clock.now())
    }
}
