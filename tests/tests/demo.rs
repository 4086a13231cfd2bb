//! `consentry demo` tells the whole story without error on a fresh embedded store.

#[tokio::test]
async fn the_demo_runs_on_a_fresh_sqlite_store() {
    let db = consentry_tests::TestDb::create(consentry_tests::Backend::Sqlite).await;
    consentry::demo::run(Some(db.url())).await.expect("the demo completes");
}
