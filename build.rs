//! Marks the PostgreSQL test runs as ignored (with the reason shown by `cargo test`) unless
//! `CERTFLOW_TEST_POSTGRES_URL` is set when the tests are built.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(pg_tests)");
    println!("cargo::rerun-if-env-changed=CERTFLOW_TEST_POSTGRES_URL");
    if std::env::var("CERTFLOW_TEST_POSTGRES_URL").is_ok_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=pg_tests");
    }
}
