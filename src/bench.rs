//! `certflow bench`: N full application lifecycles (create → submit → three approvals → final,
//! with history and timers) through the engine, beside a baseline measured in the same run: the
//! same number of bare transactions that each update one row and insert one history row. The
//! figure to report is the ratio engine/baseline.

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
}

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

async fn lifecycles(engine: &Engine, n: usize) -> anyhow::Result<(Duration, Vec<Duration>)> {
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
    let err = |e: crate::error::AppError| anyhow::anyhow!("{e}");
    let mut samples = Vec::with_capacity(n * 5);
    let start = Instant::now();
    for _ in 0..n {
        let mut data = serde_json::Map::new();
        data.insert("revenue".into(), serde_json::json!("2500.00"));
        let t = Instant::now();
        let view = engine.create_application(&applicant, "bench", None, data).await.map_err(err)?;
        samples.push(t.elapsed());
        let t = Instant::now();
        engine
            .take_action(Caller::User(&applicant), &view.id, "submit", ActionRequest::default(), None)
            .await
            .map_err(err)?;
        samples.push(t.elapsed());
        for r in &reviewers {
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

async fn measure(url: &str, dir: &Path, templates: &Path, n: usize) -> anyhow::Result<Figures> {
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
    };
    let engine = build_engine(&settings, Arc::new(SystemClock)).await?;
    let (engine_time, mut samples) = lifecycles(&engine, n).await?;
    samples.sort();
    let baseline_tx = samples.len();
    let baseline = baseline(&engine, baseline_tx).await?;
    Ok(Figures { lifecycles: n, engine: engine_time, samples, baseline, baseline_tx })
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
        "  baseline tx/s         {:>10.1}   ({} bare transactions: update 1 row + insert 1 history row)",
        base_tps, f.baseline_tx
    );
    println!(
        "  ratio engine/baseline {:>10.3}   (engine transitions/s ÷ baseline transactions/s)",
        engine_tps / base_tps
    );
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
        "certflow bench: {} lifecycles per backend ({} build)",
        args.n,
        if cfg!(debug_assertions) { "debug" } else { "release" }
    );
    let sqlite_url = format!("sqlite://{}?mode=rwc", dir.join("bench.db").display());
    let f = measure(&sqlite_url, &dir, &args.templates, args.n).await?;
    report("SQLite (file)", &f);
    if let Some(pg) = &args.postgres {
        let name = format!("certflow_bench_{}", uuid::Uuid::new_v4().simple());
        let admin = sea_orm::Database::connect(pg.as_str()).await?;
        admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await?;
        let url = replace_db(pg, &name);
        let result = measure(&url, &dir, &args.templates, args.n).await;
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
