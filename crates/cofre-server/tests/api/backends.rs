//! The same server on both database backends: SQLite (the default) and PostgreSQL (the
//! server on 127.0.0.1:5432, user `postgres`; a fresh, uniquely named database for the
//! run, dropped afterwards). Without PostgreSQL the second half is skipped with a
//! message, except under `CI=true`, where it must run.

use cofre_client::vault::{NewItem, Source};
use cofre_core::vault::ItemKind;
use sqlx::Connection as _;

use crate::support::*;

/// Accounts, sessions, items, sharing, the admin routes and the audit chain through
/// the API.
async fn scenario(s: &TestServer) {
    register(s, "alice").await;
    register(s, "bob").await;
    let alice = login(s, "alice").await;
    let bob = login(s, "bob").await;
    let body = b"the same bytes on every backend".to_vec();
    let item = s
        .client
        .upload(
            &alice.tokens.access_token,
            &alice.keys,
            NewItem {
                kind: ItemKind::Note,
                name: "n".into(),
                content_type: "text/plain".into(),
            },
            Source::Bytes(body.clone()),
            &|_, _| {},
        )
        .await
        .unwrap();
    let listed = s
        .client
        .items(&alice.tokens.access_token, &alice.keys)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    let usage = s.client.usage(&alice.tokens.access_token).await.unwrap();
    assert!(usage.used > 0);
    // bob cannot read it until alice shares it.
    assert!(
        s.client
            .item(&bob.tokens.access_token, &bob.keys, &item.id)
            .await
            .is_err()
    );
    let bob_key = s
        .client
        .public_key(&alice.tokens.access_token, "bob")
        .await
        .unwrap();
    s.client
        .share(
            &alice.tokens.access_token,
            &alice.keys,
            "alice",
            &item,
            &bob_key,
        )
        .await
        .unwrap();
    let shared = s
        .client
        .item(&bob.tokens.access_token, &bob.keys, &item.id)
        .await
        .unwrap();
    let mut out = Vec::new();
    s.client
        .download(&bob.tokens.access_token, &shared, &mut out, &|_, _| {})
        .await
        .unwrap();
    assert_eq!(out, body);
    // Refresh, admin listing, lock; then the audit chain is intact.
    let users = s
        .client
        .admin_users(&alice.tokens.access_token)
        .await
        .unwrap();
    assert_eq!(users.len(), 2);
    let bob_id = users
        .iter()
        .find(|u| u.username == "bob")
        .unwrap()
        .user_id
        .clone();
    s.client
        .admin_lock(&alice.tokens.access_token, &bob_id)
        .await
        .unwrap();
    assert!(s.client.whoami(&bob.tokens.access_token).await.is_err());
    match cofre_server::audit::verify(&s.state.store).await.unwrap() {
        cofre_server::audit::Verdict::Intact { rows } => assert!(rows >= 4, "{rows}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_flow_on_sqlite_and_on_postgresql() {
    let s = start(|_| {}).await;
    scenario(&s).await;
    s.stop().await;

    match fresh_postgres("cofre_test").await {
        Ok(fresh) => {
            let url = fresh.url.clone();
            let u = url.clone();
            let s = start(move |c| c.database_url = Some(u)).await;
            scenario(&s).await;
            // The rows are in PostgreSQL (not in a SQLite file).
            let mut db = sqlx::AnyConnection::connect(&url).await.unwrap();
            let row = sqlx::query("SELECT COUNT(*) AS n, version() AS v FROM users")
                .fetch_one(&mut db)
                .await
                .unwrap();
            use sqlx::Row as _;
            assert_eq!(row.try_get::<i64, _>("n").unwrap(), 2);
            assert!(
                row.try_get::<String, _>("v")
                    .unwrap()
                    .starts_with("PostgreSQL")
            );
            db.close().await.unwrap();
            assert!(!s.data.join("cofre.db").exists(), "no SQLite file");
            assert_eq!(
                s.state.store.schema_version().await.unwrap(),
                cofre_server::store::latest_schema_version()
            );
            s.state.store.close().await;
            s.stop().await;
            drop(fresh);
        }
        Err(why) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("PostgreSQL at 127.0.0.1:5432 is required under CI=true: {why}")
        }
        Err(why) => eprintln!("SKIPPED the PostgreSQL half: no server at 127.0.0.1:5432 ({why})"),
    }
}
