//! Database migrations for certflow (SQLite and PostgreSQL).

pub use sea_orm_migration::prelude::*;

mod m20261127_000001_init;
mod m20261127_000002_time;
mod m20261127_000003_money;
mod m20261204_000004_sign_in;
mod m20261204_000005_indexes;

pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261127_000001_init::Migration),
            Box::new(m20261127_000002_time::Migration),
            Box::new(m20261127_000003_money::Migration),
            Box::new(m20261204_000004_sign_in::Migration),
            Box::new(m20261204_000005_indexes::Migration),
        ]
    }
}
