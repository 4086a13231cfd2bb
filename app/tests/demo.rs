//! `consentry demo` tells the whole story without error, run as a process as a user runs it, in a working
//! directory of its own: it keeps its store at ./consentry-demo.db (whatever `DATABASE_URL` says), ends by
//! printing the commands that inspect that store, and those commands work on it.

use std::path::Path;
use std::process::Command;

/// Runs `consentry ARGS` in `dir` (with `DATABASE_URL` set when given): whether it succeeded, stdout, stderr.
fn consentry(dir: &Path, database_url: Option<&str>, args: &[&str]) -> (bool, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_consentry"));
    command.args(args).current_dir(dir).env("RUST_LOG", "off");
    match database_url {
        Some(url) => command.env("DATABASE_URL", url),
        None => command.env_remove("DATABASE_URL"),
    };
    let output = command.output().expect("the binary runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn the_demo_keeps_its_store_and_says_how_to_inspect_it() {
    let dir = tempfile::tempdir().expect("a working directory");
    std::fs::write(dir.path().join("consentry-demo.db"), b"left by an earlier run").expect("an old store");

    let (ok, story, errors) = consentry(dir.path(), None, &["demo"]);
    assert!(ok, "the demo completes: {errors}\n{story}");
    assert!(story.starts_with("Consentry demo on SQLite"), "{story}");
    assert!(story.contains("Summary, from the read models"), "{story}");
    assert!(dir.path().join("consentry-demo.db").is_file(), "the store stays");

    let list = "DATABASE_URL=sqlite:consentry-demo.db consentry audit consent --list";
    for printed in [
        list,
        "DATABASE_URL=sqlite:consentry-demo.db consentry replay --status",
        "DATABASE_URL=sqlite:consentry-demo.db consentry serve",
    ] {
        assert!(
            story.lines().any(|l| l.trim() == printed),
            "{printed:?} is printed: {story}"
        );
    }

    // The printed command, run as printed: its DATABASE_URL and arguments.
    let (variable, command) = list.split_once(' ').expect("a variable, then the command");
    let url = variable.strip_prefix("DATABASE_URL=").expect("DATABASE_URL");
    let args: Vec<&str> = command.split_whitespace().skip(1).collect();
    let (ok, consents, errors) = consentry(dir.path(), Some(url), &args);
    assert!(ok, "{errors}");
    assert!(consents.lines().count() >= 4, "a consent per bank at least: {consents}");

    let (ok, status, errors) = consentry(dir.path(), Some(url), &["replay", "--status", "--json"]);
    assert!(ok, "{errors}");
    let status: serde_json::Value = serde_json::from_str(&status).expect("JSON");
    assert!(status.as_array().is_some_and(|s| !s.is_empty()), "{status}");

    let (ok, again, errors) = consentry(dir.path(), None, &["demo"]);
    assert!(ok, "a second run replaces the store: {errors}\n{again}");
}
