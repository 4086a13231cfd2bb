//! `consentry tenant create|list|rotate-key`, run as a process on both stores: the key is printed once and
//! works, `list` shows every tenant and never a key, `rotate-key` issues a key that works while the old one is
//! refused at once, and an unknown tenant or an empty name is refused by name.

use consentry_domain::TenantId;
use consentry_tests::{default_start, on_both_stores, printed_json, run_binary, Backend, TestDb};
use serde_json::Value;

/// Runs `consentry ARGS` on the test's database: whether it succeeded, its stdout and its stderr.
fn consentry(db: &TestDb, args: &[&str]) -> (bool, String, String) {
    run_binary(env!("CARGO_BIN_EXE_consentry"), db, args)
}

fn json(text: &str) -> Value {
    printed_json(text)
}

async fn the_tenant_commands_work(store: Backend) {
    let db = TestDb::create(store).await;

    let (ok, created, errors) = consentry(&db, &["tenant", "create", "acme", "--json"]);
    assert!(ok, "{errors}");
    let created = json(&created);
    let acme = created["tenantId"].as_str().expect("tenantId").to_owned();
    let first_key = created["apiKey"].as_str().expect("apiKey").to_owned();
    assert!(first_key.starts_with("cs_"), "{created}");

    let (ok, plain, errors) = consentry(&db, &["tenant", "create", "globex"]);
    assert!(ok, "{errors}");
    assert!(
        plain.contains("tenant id: ") && plain.contains("API key:   cs_"),
        "{plain}"
    );

    let (ok, listed, errors) = consentry(&db, &["tenant", "list", "--json"]);
    assert!(ok, "{errors}");
    assert!(!listed.contains("cs_"), "no key is ever listed: {listed}");
    let listed = json(&listed);
    let names: Vec<&str> = listed
        .as_array()
        .expect("an array")
        .iter()
        .map(|t| t["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["acme", "globex"], "oldest first: {listed}");
    assert_eq!(listed[0]["tenantId"], acme.as_str());
    assert!(listed[0]["createdAt"].is_string(), "{listed}");

    let (ok, table, errors) = consentry(&db, &["tenant", "list"]);
    assert!(ok, "{errors}");
    assert!(
        table.lines().any(|l| l.starts_with(&acme) && l.ends_with("acme")),
        "{table}"
    );
    assert!(!table.contains("cs_"), "{table}");

    let (ok, rotated, errors) = consentry(&db, &["tenant", "rotate-key", &acme, "--json"]);
    assert!(ok, "{errors}");
    let rotated = json(&rotated);
    assert_eq!(rotated["tenantId"], acme.as_str());
    let second_key = rotated["apiKey"].as_str().expect("apiKey").to_owned();
    assert_ne!(second_key, first_key);

    let (engine, _) = db.engine(default_start()).await;
    let acme = TenantId::parse(&acme).expect("a tenant id");
    assert_eq!(engine.tenant_for_key(&second_key).await.expect("lookup"), Some(acme));
    assert_eq!(
        engine.tenant_for_key(&first_key).await.expect("lookup"),
        None,
        "the old key is refused"
    );
    engine.database().close().await;

    let unknown = TenantId::new().to_string();
    let (ok, _, refused) = consentry(&db, &["tenant", "rotate-key", &unknown]);
    assert!(!ok);
    assert!(
        refused.contains(&format!("tenant {unknown} does not exist")),
        "{refused}"
    );

    let (ok, _, refused) = consentry(&db, &["tenant", "create", "  "]);
    assert!(!ok);
    assert!(refused.contains("name"), "{refused}");
}
on_both_stores!(tenant_commands, the_tenant_commands_work);
