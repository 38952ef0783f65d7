//! Building and running the application: database, migrations, definitions, keys, engine,
//! scheduler and HTTP server. `main` and the test harness both come through here.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::{Server, Service};
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::{ActiveModelTrait, ConnectOptions, Database, DatabaseConnection, EntityTrait, Set};

use crate::auth::jwt::JwtKeys;
use crate::config::Settings;
use crate::engine::{Clock, Engine, MailSettings, load_definitions};
use crate::http::LANG;
use crate::http::{Pages, configure, request_lang};
use crate::storage::entities::kv_setting;

/// Connects to the database and brings its schema up to date.
pub async fn connect(url: &str) -> anyhow::Result<DatabaseConnection> {
    let mut opts = ConnectOptions::new(url.to_string());
    opts.sqlx_logging(false);
    if url.starts_with("postgres") {
        opts.max_connections(16);
    } else {
        // Write-ahead logging: readers never wait for the writer, and a commit needs one sync
        // of the log instead of two of the database; a process crash loses nothing committed.
        opts.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(std::time::Duration::from_secs(10))
        });
    }
    let db = Database::connect(opts).await.with_context(|| format!("connecting to {}", redact(url)))?;
    Migrator::up(&db, None).await.context("running migrations")?;
    Ok(db)
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…@{}", &url[..s], &url[at + 1..]),
        _ => url.to_string(),
    }
}

/// The token secret: from the settings, or generated once and kept in the database so that
/// every instance sharing it signs alike.
async fn jwt_secret(db: &DatabaseConnection, configured: Option<&str>) -> anyhow::Result<Vec<u8>> {
    if let Some(s) = configured {
        return Ok(s.as_bytes().to_vec());
    }
    if let Some(row) = kv_setting::Entity::find_by_id("jwt_secret").one(db).await? {
        return Ok(row.value.into_bytes());
    }
    let secret: [u8; 32] = rand::random();
    let value = hex::encode(secret);
    let inserted =
        kv_setting::ActiveModel { key: Set("jwt_secret".into()), value: Set(value.clone()) }.insert(db).await;
    if inserted.is_err() {
        // Another instance won the race: use its secret.
        if let Some(row) = kv_setting::Entity::find_by_id("jwt_secret").one(db).await? {
            return Ok(row.value.into_bytes());
        }
    }
    Ok(value.into_bytes())
}

/// Loads everything the engine needs; the definitions must be valid.
pub async fn build_engine(settings: &Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Engine> {
    let defs = load_definitions(&settings.workflows, &settings.templates).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        anyhow::anyhow!("the workflow definitions are invalid:\n{}", lines.join("\n"))
    })?;
    for w in &defs.warnings {
        tracing::warn!("{w}");
    }
    let db = connect(&settings.database_url).await?;
    let jwt = JwtKeys::new(&jwt_secret(&db, settings.jwt_secret.as_deref()).await?);
    jwt.self_test().context("the token signer does not work")?;
    let mail = MailSettings {
        smtp_url: settings.smtp_url.clone(),
        from: settings.mail_from.clone(),
        dir: settings.mail_dir.clone(),
        max_attempts: settings.mail_tries,
        backoff: chrono::Duration::from_std(settings.mail_backoff).unwrap_or(chrono::Duration::seconds(30)),
    };
    let base_url = settings.base_url.clone().unwrap_or_else(|| format!("http://{}", settings.bind));
    let mut engine = Engine::new(db, defs, clock, jwt, settings.uploads.clone(), mail, base_url)?;
    engine.lease = chrono::Duration::from_std(settings.lease).unwrap_or(engine.lease);
    engine.idempotency_ttl = chrono::Duration::from_std(settings.idempotency_ttl).unwrap_or(engine.idempotency_ttl);
    engine.limits = std::sync::Arc::new(crate::engine::Limits::new(
        settings.sign_in_rate,
        settings.register_rate,
        settings.trust_forwarded,
    ));
    engine.sync_budgets(&engine.db).await.context("bringing the budgets in line with budgets.yaml")?;
    if let Some((email, password)) = &settings.admin
        && engine.ensure_admin(email, password).await.map_err(|e| anyhow::anyhow!("creating the admin {email}: {e}"))?
    {
        tracing::info!(%email, "created the bootstrap admin");
    }
    Ok(engine)
}

/// A built application, ready to run.
pub struct Application {
    port: u16,
    server: Server,
    pub engine: Engine,
    _scheduler: Option<tokio_cron_scheduler::JobScheduler>,
}

impl Application {
    pub async fn build(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Application> {
        let engine = build_engine(&settings, clock).await?;
        let scheduler = if settings.run_scheduler {
            Some(crate::scheduler::start(engine.clone(), settings.tick).await?)
        } else {
            None
        };
        let listener = TcpListener::bind(&settings.bind).with_context(|| format!("binding {}", settings.bind))?;
        let port = listener.local_addr()?.port();
        let data = web::Data::new(engine.clone());
        let pages = web::Data::new(Pages::new(&settings.templates));
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(pages.clone())
                .wrap_fn(|req, srv| {
                    let lang = request_lang(req.request());
                    let fut = srv.call(req);
                    LANG.scope(lang, fut)
                })
                .configure(configure)
        })
        .listen(listener)?
        .run();
        Ok(Application { port, server, engine, _scheduler: scheduler })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
