#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a test fails loudly on the first surprise")]
//! The real `certflow` binary: `validate` on the shipped definitions and on broken copies of
//! them, `graph`, and `--help`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The binary, run from the project root with only the settings a test gives it.
fn certflow(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_certflow"));
    cmd.args(args).current_dir(root());
    for (k, _) in std::env::vars() {
        if k.starts_with("CERTFLOW_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("CERTFLOW_TEMPLATES", root().join("templates"));
    cmd
}

fn run(cmd: &mut Command) -> (Output, String, String) {
    let out = cmd.output().expect("the certflow binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    (out, stdout, stderr)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// How many workflow definitions a folder holds: `<key>.yaml` files beside `jurisdictions.yaml`,
/// and older versions under `versions/`.
fn definition_count(dir: &Path) -> usize {
    let yaml = |d: &Path| -> Vec<String> {
        std::fs::read_dir(d)
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().to_string())
                    .filter(|n| n.ends_with(".yaml") || n.ends_with(".yml"))
                    .collect()
            })
            .unwrap_or_default()
    };
    let data = ["jurisdictions.yaml", "budgets.yaml", "programme.yaml"];
    yaml(dir).into_iter().filter(|n| !data.contains(&n.as_str())).count() + yaml(&dir.join("versions")).len()
}

/// Replaces the one occurrence of `old` in `text`; returns the new text and the 1-based line and
/// column (in characters) at which `marker`, a part of `new`, now stands.
fn break_once(text: &str, old: &str, new: &str, marker: &str) -> (String, usize, usize) {
    assert_eq!(text.matches(old).count(), 1, "`{old}` must occur once");
    let text = text.replacen(old, new, 1);
    let offset = text.find(new).unwrap() + new.find(marker).expect("marker inside the replacement");
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap().chars().count() + 1;
    (text, line, column)
}

#[test]
fn the_shipped_definitions_are_valid() {
    let (out, stdout, stderr) = run(&mut certflow(&["validate", "workflows"]));
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    let n = definition_count(&root().join("workflows"));
    assert!(n >= 2, "sample-recognition and sample-reward at least");
    assert!(stdout.contains(&format!("{n} workflow definition(s) valid")), "{stdout}");
    // The default folder is `workflows` too.
    let (out, stdout, _) = run(&mut certflow(&["validate"]));
    assert!(out.status.success());
    assert!(stdout.contains(&format!("{n} workflow definition(s) valid")), "{stdout}");
}

#[test]
fn every_error_of_a_broken_definition_is_printed_with_its_place() {
    // Arrange: a copy of the definitions with sample-recognition broken in two places.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("workflows");
    copy_dir(&root().join("workflows"), &dir);
    let file = dir.join("sample-recognition.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    // An action going to a state that does not exist (the real target stays reachable otherwise).
    let (text, to_line, to_col) = break_once(
        &text,
        "escalate: {to: city_review, by: system",
        "escalate: {to: city_reviw, by: system",
        "city_reviw",
    );
    // An eligibility rule naming a field the form does not have.
    let (text, expr_line, expr_col) = break_once(
        &text,
        "- rule: \"form.staff <= 1000\"",
        "- rule: \"form.staff_count <= 1000\"",
        "\"form.staff_count",
    );
    std::fs::write(&file, &text).unwrap();
    assert!(expr_line < to_line, "the eligibility rules come before the states");

    // Act
    let dir_arg = dir.to_str().unwrap();
    let (out, stdout, stderr) = run(&mut certflow(&["validate", dir_arg]));

    // Assert
    assert!(!out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert_eq!(out.status.code(), Some(1));
    let path = file.display().to_string();
    let expr_error = format!(
        "{path}:{expr_line}:{expr_col}: expression `form.staff_count <= 1000` names unknown `form.staff_count`"
    );
    let to_error = format!("{path}:{to_line}:{to_col}: action `escalate` goes to unknown state `city_reviw`");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.starts_with("warning:")).collect();
    assert_eq!(lines, vec![expr_error.as_str(), to_error.as_str(), "2 error(s)"], "stderr:\n{stderr}");
    assert!(!stdout.contains("valid"), "{stdout}");
}

#[test]
fn errors_in_several_files_are_all_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("workflows");
    copy_dir(&root().join("workflows"), &dir);
    // A YAML syntax error in one file, a bad duration in the other.
    let rec = dir.join("sample-recognition.yaml");
    let text = std::fs::read_to_string(&rec).unwrap();
    let (text, _, _) = break_once(
        &text,
        "title: {zh: 示例认定流程, en: Sample recognition}",
        "title: {zh: 示例认定流程, en: Sample recognition",
        "title",
    );
    std::fs::write(&rec, text).unwrap();
    let reward = dir.join("sample-reward.yaml");
    let text = std::fs::read_to_string(&reward).unwrap();
    let (text, line, col) = break_once(
        &text,
        "timeout: {after: 30 days, action: expire}",
        "timeout: {after: 30 dayz, action: expire}",
        "30 dayz",
    );
    std::fs::write(&reward, text).unwrap();

    let (out, _, stderr) = run(&mut certflow(&["validate", dir.to_str().unwrap()]));

    assert!(!out.status.success());
    assert!(stderr.contains(&format!("{}:", rec.display())), "{stderr}");
    assert!(stderr.contains(&format!("{}:{line}:{col}: unknown unit `dayz`", reward.display())), "{stderr}");
    assert!(stderr.contains("2 error(s)"), "{stderr}");
}

#[test]
fn graph_draws_every_state_as_mermaid_and_svg() {
    let (out, stdout, stderr) = run(&mut certflow(&["graph", "sample-recognition", "--format", "mermaid"]));
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.starts_with("stateDiagram-v2\n"), "{stdout}");
    assert!(stdout.contains("[*] --> draft"), "{stdout}");
    let states =
        ["draft", "district_review", "city_review", "expert_panel", "publicity", "recognised", "rejected", "withdrawn"];
    for s in states {
        assert!(stdout.contains(&format!("    {s} : ")), "state `{s}` missing from:\n{stdout}");
    }
    assert!(stdout.contains("district_review --> city_review : escalate (system)"), "{stdout}");
    // English labels on request.
    let (out, stdout, _) = run(&mut certflow(&["graph", "sample-recognition", "--format", "mermaid", "--en"]));
    assert!(out.status.success());
    assert!(stdout.contains("draft : Enterprise drafting"), "{stdout}");
    // SVG by default.
    let (out, stdout, _) = run(&mut certflow(&["graph", "sample-recognition"]));
    assert!(out.status.success());
    assert!(stdout.contains("<svg"), "{}", &stdout[..stdout.len().min(200)]);
    for s in states {
        assert!(stdout.contains(s), "state `{s}` missing from the SVG");
    }
    // An unknown workflow is an error.
    let (out, _, stderr) = run(&mut certflow(&["graph", "no-such-workflow", "--format", "mermaid"]));
    assert!(!out.status.success());
    assert!(stderr.contains("no-such-workflow"), "{stderr}");
}

#[test]
fn help_is_available_for_the_command_and_its_subcommands() {
    let (out, stdout, stderr) = run(&mut certflow(&["--help"]));
    assert!(out.status.success(), "{stderr}");
    for sub in ["serve", "migrate", "validate", "graph", "user", "audit", "bench"] {
        assert!(stdout.contains(sub), "`{sub}` missing from:\n{stdout}");
    }
    let (out, stdout, stderr) = run(&mut certflow(&["validate", "--help"]));
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("Usage:") && stdout.contains("validate") && stdout.contains("[DIR]"), "{stdout}");
    for sub in [&["graph", "--help"][..], &["audit", "verify", "--help"][..], &["user", "add", "--help"][..]] {
        let (out, _, stderr) = run(&mut certflow(sub));
        assert!(out.status.success(), "{sub:?}: {stderr}");
    }
}
