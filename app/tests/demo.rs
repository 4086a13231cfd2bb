//! `consentry demo` tells the whole story without error on a fresh embedded store: the binary run as a process,
//! as a user runs it (the demo always makes an SQLite store of its own, whatever `DATABASE_URL` says).

use std::process::Command;

#[test]
fn the_demo_runs_on_a_fresh_sqlite_store() {
    let output = Command::new(env!("CARGO_BIN_EXE_consentry"))
        .arg("demo")
        .env("RUST_LOG", "off")
        .output()
        .expect("the binary runs");
    let story = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the demo completes: {}\n{story}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(story.starts_with("Consentry demo on SQLite"), "{story}");
    assert!(story.contains("Summary, from the read models"), "{story}");
}
