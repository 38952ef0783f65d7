//! `certflow bench`: N full application lifecycles (create → submit → three approvals → final,
//! with history and timers) through the engine, beside a baseline measured in the same run: the
//! same number of bare transactions that each update one row and insert one history row. The
//! figure to report is the ratio engine/baseline. It counts the statements each transition sends,
//! and times N lifecycles again once the enterprise has `--many` finished ones behind it (rows
//! bulk-inserted), whose p50 must stay within 1.2 × of the first.
//!
//! Then the timer sweep: (i) the cost of a sweep that finds nothing due, before and after
//! `--pending` (default 1,000,000) timers due in the future are added: with the (status, due_at)
//! index it should not grow with the number of not-yet-due timers; (ii) `--timers` applications
//! whose timeouts are made due and fired by one `sweep_timers()`, as timers fired per second
//! beside the baseline transactions per second.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseBackend, Statement, TransactionTrait};

use crate::config::Settings;
use crate::domain::access::{Actor, Caller};
use crate::domain::role::Role;
use crate::engine::{ActionRequest, Engine, NewUser, RoleGrant, SystemClock};
use crate::startup::build_engine;

/// Options of `certflow bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Lifecycles per backend.
    #[arg(long, default_value_t = 200)]
    pub n: usize,
    /// Also run on this PostgreSQL server (a fresh database is created on it and dropped after).
    #[arg(long, env = "CERTFLOW_BENCH_POSTGRES_URL")]
    pub postgres: Option<String>,
    /// The templates folder.
    #[arg(long, default_value = "templates")]
    pub templates: PathBuf,
    /// Applications whose due timeouts one timer sweep fires.
    #[arg(long, default_value_t = 2000)]
    pub timers: usize,
    /// Not-yet-due timers added before the empty sweep is timed again.
    #[arg(long, default_value_t = 1_000_000)]
    pub pending: usize,
    /// Lifecycles the enterprise has behind it (finished applications and their certifications,
    /// bulk-inserted) when the transitions are timed again: a transition's cost must not grow
    /// with them.
    #[arg(long, default_value_t = 10_000)]
    pub many: usize,
}

const WORKFLOW: &str = r#"
key: bench
version: 1
title: {zh: 基准流程, en: Benchmark}
starts: enterprise
form:
  fields:
    - {key: revenue, type: money, label: {zh: 收入, en: Revenue}, required: true}
scoring:
  pass: 10
  indicators:
    - key: revenue
      title: {zh: 收入, en: Revenue}
      value: "form.revenue"
      points: [{min: 1000, points: 20}, {points: 0}]
states:
  draft:
    editable: true
    actions:
      submit: {to: first, by: applicant, check: [scoring]}
  first:
    assignee: {role: reviewer, scope: district}
    timeout: {after: 10 working days, action: expire}
    actions:
      approve: {to: second}
      expire: {to: lapsed, by: system}
  second:
    assignee: {role: reviewer, scope: city}
    timeout: {after: 10 working days, action: expire}
    actions:
      approve: {to: third}
      expire: {to: lapsed, by: system}
  third:
    assignee: {role: reviewer, scope: province}
    timeout: {after: 10 working days, action: expire}
    actions:
      approve: {to: done}
      expire: {to: lapsed, by: system}
  done:
    final: true
    on_enter:
      - grant: {certification: bench, valid_for: 3 years}
  lapsed:
    final: true
"#;

/// Timing of one backend.
struct Figures {
    lifecycles: usize,
    engine: Duration,
    samples: Vec<Duration>,
    baseline: Duration,
    baseline_tx: usize,
    /// Statements sent per transition (create, submit, approvals), and how many were reads.
    statements: f64,
    reads: f64,
    /// The same lifecycles timed again with `many` lifecycles behind the enterprise.
    many: usize,
    samples_many: Vec<Duration>,
    sweep: SweepFigures,
}

/// Counts the statements sent to the database (sea-orm's metric callback).
#[derive(Default)]
struct Statements {
    all: std::sync::atomic::AtomicUsize,
    reads: std::sync::atomic::AtomicUsize,
}

impl Statements {
    fn take(&self) -> (usize, usize) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.all.swap(0, Relaxed), self.reads.swap(0, Relaxed))
    }
}

/// Timing of the timer sweep on one backend.
struct SweepFigures {
    /// Timers in the table when the empty sweep was first timed.
    timers_before: i64,
    /// Median empty sweep before the not-yet-due timers were added.
    empty_before: Duration,
    pending: usize,
    insert: Duration,
    /// Median empty sweep with them, before and after `ANALYZE`.
    empty_unanalysed: Duration,
    empty_after: Duration,
    /// Due timeouts fired by one sweep, and how long it took.
    fired: usize,
    fire: Duration,
}

/// Empty sweeps timed per figure (the median is reported).
const SWEEP_SAMPLES: usize = 50;

/// The application id the not-yet-due timers point at (never looked at: they are not due).
const DUMMY_APPLICATION: &str = "bench-not-due";

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

async fn user(
    engine: &Engine,
    email: &str,
    roles: Vec<RoleGrant>,
    enterprise_id: Option<String>,
) -> anyhow::Result<Actor> {
    let u = engine
        .create_user_unchecked(NewUser {
            email: email.into(),
            password: "bench2026pass".into(),
            name: email.into(),
            roles,
            enterprise_id,
            lang: None,
        })
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Actor {
        id: u.id,
        name: u.name,
        email: u.email,
        enterprise_id: u.enterprise_id,
        roles: u.roles.into_iter().map(|g| (g.role, g.jurisdiction)).collect(),
    })
}

/// The enterprise and the people of the lifecycles: the applicant and three reviewers.
struct People {
    applicant: Actor,
    reviewers: Vec<Actor>,
}

async fn people(engine: &Engine) -> anyhow::Result<People> {
    let ent_id = {
        use crate::storage::entities::enterprise;
        use sea_orm::{ActiveModelTrait, Set};
        let uscc = crate::domain::uscc::Uscc::complete("91321102MA1BX0001").ok_or_else(|| anyhow::anyhow!("uscc"))?;
        enterprise::ActiveModel {
            id: Set(uuid::Uuid::new_v4().to_string()),
            uscc: Set(uscc.as_str().into()),
            name: Set("Bench Co".into()),
            district: Set("jingkou".into()),
            profile: Set("{}".into()),
            created_at: Set(engine.now()),
        }
        .insert(&engine.db)
        .await?
        .id
    };
    let applicant = user(
        engine,
        "applicant@bench.cn",
        vec![RoleGrant { role: Role::Enterprise, jurisdiction: None }],
        Some(ent_id),
    )
    .await?;
    let mut reviewers = Vec::new();
    for j in ["jingkou", "city", "province"] {
        reviewers.push(
            user(
                engine,
                &format!("{j}@bench.cn"),
                vec![RoleGrant { role: Role::Reviewer, jurisdiction: Some(j.into()) }],
                None,
            )
            .await?,
        );
    }
    Ok(People { applicant, reviewers })
}

/// `n` lifecycles of one enterprise: the total time and each transition's time.
async fn lifecycles(engine: &Engine, p: &People, n: usize) -> anyhow::Result<(Duration, Vec<Duration>)> {
    let err = |e: crate::error::AppError| anyhow::anyhow!("{e}");
    let mut samples = Vec::with_capacity(n * 5);
    let start = Instant::now();
    for _ in 0..n {
        let mut data = serde_json::Map::new();
        data.insert("revenue".into(), serde_json::json!("2500.00"));
        let t = Instant::now();
        let view = engine.create_application(&p.applicant, "bench", None, data).await.map_err(err)?;
        samples.push(t.elapsed());
        let t = Instant::now();
        engine
            .take_action(Caller::User(&p.applicant), &view.id, "submit", ActionRequest::default(), None)
            .await
            .map_err(err)?;
        samples.push(t.elapsed());
        for r in &p.reviewers {
            let t = Instant::now();
            engine
                .take_action(Caller::User(r), &view.id, "approve", ActionRequest::default(), None)
                .await
                .map_err(err)?;
            samples.push(t.elapsed());
        }
    }
    Ok((start.elapsed(), samples))
}

/// Gives the enterprise `count` finished lifecycles more, as rows: recognised applications and
/// their certifications (one `INSERT … SELECT` each).
async fn seed_finished(engine: &Engine, enterprise_id: &str, count: usize) -> anyhow::Result<()> {
    if count == 0 {
        return Ok(());
    }
    let db = &engine.db;
    let (series, now, id) = match db.get_database_backend() {
        DatabaseBackend::Postgres => (
            format!("generate_series(1, {count}) AS g(x)"),
            "now()".to_string(),
            "md5(random()::text || x::text)".to_string(),
        ),
        _ => (
            format!(
                "(WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < {count}) SELECT x FROM g)"
            ),
            "strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')".to_string(),
            "lower(hex(randomblob(16)))".to_string(),
        ),
    };
    db.execute_unprepared(&format!(
        "INSERT INTO applications (id, number, workflow, workflow_version, enterprise_id, district, state, is_final, \
         data, score, version, visit, parent_id, created_by, state_entered_at, due_at, head_hash, created_at, updated_at) \
         SELECT 'seeded-' || x, 'SEED-' || x, 'bench', 1, '{enterprise_id}', 'jingkou', 'done', true, \
                '{{\"revenue\":\"2500.00\"}}', NULL, 5, 5, NULL, NULL, {now}, NULL, '', {now}, {now} FROM {series}"
    ))
    .await?;
    db.execute_unprepared(&format!(
        "INSERT INTO certifications (id, enterprise_id, kind, application_id, status, granted_at, valid_until, revoked_at) \
         SELECT {id}, '{enterprise_id}', 'bench', 'seeded-' || x, 'active', {now}, NULL, NULL FROM {series}"
    ))
    .await?;
    Ok(())
}

async fn count(engine: &Engine, sql: &str) -> anyhow::Result<i64> {
    let backend = engine.db.get_database_backend();
    let row = engine
        .db
        .query_one_raw(Statement::from_string(backend, sql.to_string()))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no row from {sql}"))?;
    Ok(row.try_get_by_index::<i64>(0)?)
}

/// The median of `SWEEP_SAMPLES` sweeps that find nothing due (after one warm-up sweep).
async fn empty_sweep(engine: &Engine) -> anyhow::Result<Duration> {
    let err = |e: crate::error::AppError| anyhow::anyhow!("{e}");
    engine.sweep_timers().await.map_err(err)?;
    let mut samples = Vec::with_capacity(SWEEP_SAMPLES);
    for _ in 0..SWEEP_SAMPLES {
        let t = Instant::now();
        let fired = engine.sweep_timers().await.map_err(err)?;
        samples.push(t.elapsed());
        anyhow::ensure!(fired == 0, "an empty sweep fired {fired} timers");
    }
    samples.sort();
    Ok(percentile(&samples, 0.5))
}

/// Adds `count` pending timeouts due over the next two years (one a minute, from tomorrow) in
/// one `INSERT … SELECT`: from `generate_series` on PostgreSQL, a recursive CTE on SQLite
/// (timestamps as the RFC 3339 text sqlx writes there, so they compare as the sweep expects).
async fn insert_pending(engine: &Engine, count: usize) -> anyhow::Result<()> {
    let db = &engine.db;
    let sql = match db.get_database_backend() {
        DatabaseBackend::Postgres => format!(
            "INSERT INTO timers (application_id, visit, kind, action, status, due_at, attempts, created_at) \
             SELECT '{DUMMY_APPLICATION}', 1, 'timeout', 'expire', 'pending', \
                    now() + interval '1 day' + g * interval '1 minute', 0, now() \
             FROM generate_series(1, {count}) AS g"
        ),
        _ => format!(
            "WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < {count}) \
             INSERT INTO timers (application_id, visit, kind, action, status, due_at, attempts, created_at) \
             SELECT '{DUMMY_APPLICATION}', 1, 'timeout', 'expire', 'pending', \
                    strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', '+1 day', '+' || x || ' minutes'), 0, \
                    strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now') \
             FROM g"
        ),
    };
    if count > 0 {
        db.execute_unprepared(&sql).await?;
    }
    Ok(())
}

/// (i) the empty sweep before and after `pending` not-yet-due timers; (ii) `k` applications
/// in a state with a timeout, their timers made due, fired by one sweep.
async fn timer_sweep(engine: &Engine, applicant: &Actor, pending: usize, k: usize) -> anyhow::Result<SweepFigures> {
    let err = |e: crate::error::AppError| anyhow::anyhow!("{e}");
    let db = &engine.db;
    let backend = db.get_database_backend();
    let timers_before = count(engine, "SELECT count(*) FROM timers").await?;
    let empty_before = empty_sweep(engine).await?;
    let t = Instant::now();
    insert_pending(engine, pending).await?;
    let insert = t.elapsed();
    let empty_unanalysed = empty_sweep(engine).await?;
    // What autovacuum (PostgreSQL) or an occasional `ANALYZE` (SQLite) gives a live database.
    db.execute_unprepared("ANALYZE timers").await?;
    let empty_after = empty_sweep(engine).await?;

    // K applications waiting in `first` (a state with a timeout), created through the engine.
    for _ in 0..k {
        let mut data = serde_json::Map::new();
        data.insert("revenue".into(), serde_json::json!("2500.00"));
        let view = engine.create_application(applicant, "bench", None, data).await.map_err(err)?;
        engine
            .take_action(Caller::User(applicant), &view.id, "submit", ActionRequest::default(), None)
            .await
            .map_err(err)?;
    }
    let due = engine.now() - chrono::Duration::seconds(1);
    let made_due = db
        .execute_raw(Statement::from_sql_and_values(
            backend,
            ph(
                backend,
                "UPDATE timers SET due_at = ? WHERE status = 'pending' AND kind = 'timeout' AND application_id IN \
                 (SELECT id FROM applications WHERE workflow = 'bench' AND state = 'first')",
            ),
            [due.into()],
        ))
        .await?
        .rows_affected();
    anyhow::ensure!(made_due == k as u64, "{made_due} timers made due, expected {k}");
    let t = Instant::now();
    let fired = engine.sweep_timers().await.map_err(err)?;
    let fire = t.elapsed();
    anyhow::ensure!(fired == k, "the sweep fired {fired} timers, expected {k}");
    Ok(SweepFigures { timers_before, empty_before, pending, insert, empty_unanalysed, empty_after, fired, fire })
}

/// The baseline: bare transactions, each updating one row and inserting one history row.
async fn baseline(engine: &Engine, count: usize) -> anyhow::Result<Duration> {
    let db = &engine.db;
    let backend = db.get_database_backend();
    db.execute_unprepared("CREATE TABLE bench_rows (id BIGINT PRIMARY KEY, v BIGINT NOT NULL)").await?;
    db.execute_unprepared("CREATE TABLE bench_log (id BIGINT PRIMARY KEY, row_id BIGINT NOT NULL, at TEXT NOT NULL)")
        .await?;
    let rows = 200_i64;
    for i in 0..rows {
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            ph(backend, "INSERT INTO bench_rows (id, v) VALUES (?, 0)"),
            [i.into()],
        ))
        .await?;
    }
    let start = Instant::now();
    for i in 0..count {
        let i = i as i64;
        let txn = db.begin().await?;
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            ph(backend, "UPDATE bench_rows SET v = v + 1 WHERE id = ?"),
            [(i % rows).into()],
        ))
        .await?;
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            ph(backend, "INSERT INTO bench_log (id, row_id, at) VALUES (?, ?, ?)"),
            [i.into(), (i % rows).into(), chrono::Utc::now().to_rfc3339().into()],
        ))
        .await?;
        txn.commit().await?;
    }
    Ok(start.elapsed())
}

/// `?` placeholders for SQLite, `$n` for PostgreSQL.
fn ph(backend: DatabaseBackend, sql: &str) -> String {
    if backend != DatabaseBackend::Postgres {
        return sql.to_string();
    }
    let mut n = 0;
    sql.chars()
        .map(|c| {
            if c == '?' {
                n += 1;
                format!("${n}")
            } else {
                c.to_string()
            }
        })
        .collect()
}

async fn measure(url: &str, dir: &Path, args: &BenchArgs) -> anyhow::Result<Figures> {
    let (templates, n) = (args.templates.as_path(), args.n);
    let settings = Settings {
        database_url: url.to_string(),
        bind: "127.0.0.1:0".into(),
        workflows: dir.to_path_buf(),
        templates: templates.to_path_buf(),
        uploads: dir.join("uploads"),
        jwt_secret: Some("bench-secret-bench-secret-bench-secret".into()),
        admin: None,
        smtp_url: None,
        mail_from: "bench@localhost".into(),
        mail_dir: dir.join("mail"),
        mail_tries: 3,
        mail_backoff: std::time::Duration::from_secs(1),
        lease: std::time::Duration::from_secs(60),
        tick: Duration::from_secs(1),
        base_url: None,
        run_scheduler: false,
        // Every enterprise registers from one address here.
        sign_in_rate: crate::domain::throttle::Rate { per_period: 100_000, period_secs: 60 },
        register_rate: crate::domain::throttle::Rate { per_period: 100_000, period_secs: 60 },
        trust_forwarded: false,
        idempotency_ttl: std::time::Duration::from_secs(24 * 3600),
    };
    let mut engine = build_engine(&settings, Arc::new(SystemClock)).await?;
    let counter = Arc::new(Statements::default());
    {
        let counter = counter.clone();
        engine.db.set_metric_callback(move |info| {
            use std::sync::atomic::Ordering::Relaxed;
            counter.all.fetch_add(1, Relaxed);
            if info.statement.sql.trim_start().get(..6).is_some_and(|w| w.eq_ignore_ascii_case("select")) {
                counter.reads.fetch_add(1, Relaxed);
            }
        });
    }
    let p = people(&engine).await?;
    counter.take();
    let (engine_time, mut samples) = lifecycles(&engine, &p, n).await?;
    let (all, reads) = counter.take();
    samples.sort();
    let enterprise_id = p.applicant.enterprise_id.clone().unwrap_or_default();
    seed_finished(&engine, &enterprise_id, args.many.saturating_sub(2 * n)).await?;
    let (_, mut samples_many) = lifecycles(&engine, &p, n).await?;
    samples_many.sort();
    let baseline_tx = samples.len();
    let baseline = baseline(&engine, baseline_tx).await?;
    let sweep = timer_sweep(&engine, &p.applicant, args.pending, args.timers).await?;
    let per = |c: usize| c as f64 / samples.len() as f64;
    Ok(Figures {
        lifecycles: n,
        engine: engine_time,
        statements: per(all),
        reads: per(reads),
        many: args.many.max(2 * n),
        samples_many,
        samples,
        baseline,
        baseline_tx,
        sweep,
    })
}

fn report(name: &str, f: &Figures) {
    let transitions = f.samples.len() as f64;
    let secs = f.engine.as_secs_f64();
    let base_secs = f.baseline.as_secs_f64();
    let engine_tps = transitions / secs;
    let base_tps = f.baseline_tx as f64 / base_secs;
    println!("== {name}");
    println!("  lifecycles            {:>10}", f.lifecycles);
    println!("  lifecycles/s          {:>10.1}", f.lifecycles as f64 / secs);
    println!(
        "  transitions/s         {:>10.1}   (create, submit, 3 approvals; history, timers, certification)",
        engine_tps
    );
    println!("  transition p50        {:>10.2} ms", percentile(&f.samples, 0.50).as_secs_f64() * 1000.0);
    println!("  transition p99        {:>10.2} ms", percentile(&f.samples, 0.99).as_secs_f64() * 1000.0);
    println!(
        "  statements/transition {:>10.1}   ({:.1} reads, {:.1} writes; round trips: these and BEGIN, COMMIT)",
        f.statements,
        f.reads,
        f.statements - f.reads
    );
    let (p50, p50_many) = (percentile(&f.samples, 0.50), percentile(&f.samples_many, 0.50));
    println!(
        "  transition p50 with {:>6} lifecycles behind the enterprise {:>8.2} ms   (ratio to {} lifecycles: {:.2}; goal ≤ 1.2)",
        f.many,
        p50_many.as_secs_f64() * 1000.0,
        f.lifecycles,
        p50_many.as_secs_f64() / p50.as_secs_f64()
    );
    println!(
        "  baseline tx/s         {:>10.1}   ({} bare transactions: update 1 row + insert 1 history row)",
        base_tps, f.baseline_tx
    );
    println!(
        "  ratio engine/baseline {:>10.3}   (engine transitions/s ÷ baseline transactions/s)",
        engine_tps / base_tps
    );
    let s = &f.sweep;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("  timer sweep, nothing due (median of {SWEEP_SAMPLES} sweeps):");
    println!("    empty sweep, {:>9} timers in the table        {:>9.3} ms", s.timers_before, ms(s.empty_before));
    println!(
        "    inserted {:>9} pending timers due later      {:>9.1} s   (one INSERT … SELECT)",
        s.pending,
        s.insert.as_secs_f64()
    );
    println!("    empty sweep, +{:>8} not due, before ANALYZE  {:>9.3} ms", s.pending, ms(s.empty_unanalysed));
    println!("    empty sweep, +{:>8} not due, after ANALYZE   {:>9.3} ms", s.pending, ms(s.empty_after));
    println!(
        "    ratio with/without not-due timers          {:>9.2}   (after ANALYZE; the (status, due_at) index reads only due rows, so this stays near 1: tenths of a ms are round trip and planning)",
        s.empty_after.as_secs_f64() / s.empty_before.as_secs_f64()
    );
    let fired_per_s = s.fired as f64 / s.fire.as_secs_f64();
    println!("  timer firing:");
    println!(
        "    timers fired/s        {:>10.1}   ({} due timeouts fired by one sweep_timers() in {:.2} s; each a system transition; {} not-due timers present)",
        fired_per_s,
        s.fired,
        s.fire.as_secs_f64(),
        s.pending
    );
    println!("    baseline tx/s         {:>10.1}   (from above)", base_tps);
    println!("    ratio fired/baseline  {:>10.3}", fired_per_s / base_tps);
}

/// Runs the benchmark on SQLite and, when given, PostgreSQL.
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("certflow-bench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("bench.yaml"), WORKFLOW)?;
    std::fs::copy("workflows/jurisdictions.yaml", dir.join("jurisdictions.yaml")).map_err(|e| {
        anyhow::anyhow!("run the benchmark from the project folder (workflows/jurisdictions.yaml: {e})")
    })?;
    println!(
        "certflow bench: {} lifecycles per backend, timer sweep with {} not-due and {} due timers ({} build)",
        args.n,
        args.pending,
        args.timers,
        if cfg!(debug_assertions) { "debug" } else { "release" }
    );
    let sqlite_url = format!("sqlite://{}?mode=rwc", dir.join("bench.db").display());
    let f = measure(&sqlite_url, &dir, &args).await?;
    report("SQLite (file)", &f);
    if let Some(pg) = &args.postgres {
        let name = format!("certflow_bench_{}", uuid::Uuid::new_v4().simple());
        let mut opts = sea_orm::ConnectOptions::new(pg.as_str());
        opts.sqlx_logging(false);
        let admin = sea_orm::Database::connect(opts).await?;
        admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await?;
        let url = replace_db(pg, &name);
        let result = measure(&url, &dir, &args).await;
        admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await?;
        report("PostgreSQL", &result?);
    }
    if let Some(mib) = peak_rss_mib() {
        println!("peak memory (RSS)       {mib:>10.1} MiB");
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// The same server URL with another database name.
pub fn replace_db(url: &str, db: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let base = match base.rfind('/') {
        Some(i) if i > base.find("://").map_or(0, |s| s + 2) => &base[..i],
        _ => base,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}
