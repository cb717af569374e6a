//! The audit log records security events, its chain verifies, and an edited or deleted
//! row is detected. No secret reaches it.

use cofre_api::ErrorCode;
use cofre_client::client::SecondFactor;
use cofre_core::secret::Password;
use cofre_server::audit::{Verdict, verify};

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_chained_and_tampering_is_detected() {
    let s = start(|_| {}).await;
    let reg = register(&s, "root").await;
    let admin = login(&s, "root").await.tokens.access_token;
    let _ = s
        .client
        .login(
            "root",
            &Password::new("a wrong password here"),
            SecondFactor::None,
        )
        .await;
    register(&s, "bob").await;
    let bob = s.state.store.user_by_name("bob").await.unwrap().unwrap();
    s.client.admin_lock(&admin, &bob.id).await.unwrap();

    let page = s.client.admin_audit(&admin, 0, 100).await.unwrap();
    let events: Vec<(&str, &str)> = page
        .events
        .iter()
        .map(|e| (e.event.as_str(), e.outcome.as_str()))
        .collect();
    for want in [
        ("register", "ok"),
        ("login", "ok"),
        ("login", "failed"),
        ("admin.lock", "ok"),
    ] {
        assert!(events.contains(&want), "{want:?} missing from {events:?}");
    }
    let text = serde_json::to_string(&page.events).unwrap();
    assert!(!text.contains(reg.recovery_key.to_display().as_str()));
    assert!(!text.contains(admin.expose()));

    assert_eq!(
        verify(&s.state.store).await.unwrap(),
        Verdict::Intact {
            rows: page.events.len() as i64
        }
    );
    let config = s.state.config.clone();
    let dir = s.stop().await;

    // The server cannot edit rows (triggers refuse)...
    let store = open_database(&config).await;
    let e = store
        .raw_execute("UPDATE audit_log SET outcome = 'ok' WHERE seq = 3")
        .await;
    assert!(e.is_err(), "the append-only trigger must refuse updates");
    // ...but someone with the file can; the chain shows where.
    store
        .raw_execute(&drop_audit_trigger(&config, "audit_log_no_update"))
        .await
        .unwrap();
    store
        .raw_execute(
            "UPDATE audit_log SET outcome = 'ok' WHERE event = 'login' AND outcome = 'failed'",
        )
        .await
        .unwrap();
    match verify(&store).await.unwrap() {
        Verdict::Broken { seq, reason } => {
            assert_eq!(seq, 3);
            assert!(reason.contains("edited"), "{reason}");
        }
        v => panic!("edit not detected: {v:?}"),
    }
    store
        .raw_execute(&drop_audit_trigger(&config, "audit_log_no_delete"))
        .await
        .unwrap();
    store
        .raw_execute("UPDATE audit_log SET outcome = 'failed' WHERE seq = 3")
        .await
        .unwrap();
    assert!(matches!(
        verify(&store).await.unwrap(),
        Verdict::Intact { .. }
    ));
    store
        .raw_execute("DELETE FROM audit_log WHERE seq = 2")
        .await
        .unwrap();
    assert!(matches!(
        verify(&store).await.unwrap(),
        Verdict::Broken { seq: 2, .. }
    ));
    store.close().await;
    drop(dir);
    let _ = ErrorCode::Unknown;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_listing_names_accounts_newest_first_since_a_time() {
    let s = start(|_| {}).await;
    register(&s, "root").await;
    let admin = login(&s, "root").await.tokens.access_token;
    register(&s, "bob").await;
    let bob = s.state.store.user_by_name("bob").await.unwrap().unwrap();
    let root = s.state.store.user_by_name("root").await.unwrap().unwrap();
    s.client.admin_lock(&admin, &bob.id).await.unwrap();

    // Chain order stays the default; newest first and the time filter are asked for.
    let asc = s.client.admin_audit(&admin, 0, 100).await.unwrap().events;
    let seqs: Vec<i64> = asc.iter().map(|e| e.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    let desc = s
        .client
        .admin_audit_filtered(&admin, 0, None, 100, true)
        .await
        .unwrap()
        .events;
    let back: Vec<i64> = desc.iter().map(|e| e.seq).collect();
    let mut reversed = seqs.clone();
    reversed.reverse();
    assert_eq!(back, reversed);
    let lock = &desc[0];
    assert_eq!(lock.event, "admin.lock");
    assert_eq!(lock.actor.as_deref(), Some(root.id.as_str()));
    assert_eq!(lock.actor_name.as_deref(), Some("root"));
    assert_eq!(lock.subject.as_deref(), Some(bob.id.as_str()));
    assert_eq!(lock.subject_name.as_deref(), Some("bob"));

    // The newest first, limited: only the lock.
    let one = s
        .client
        .admin_audit_filtered(&admin, 0, None, 1, true)
        .await
        .unwrap()
        .events;
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].event, "admin.lock");

    // Since a time: everything since the first row's time, nothing from the future.
    let first_at = asc[0].at;
    let since = s
        .client
        .admin_audit_filtered(&admin, 0, Some(first_at), 100, false)
        .await
        .unwrap()
        .events;
    assert_eq!(since.len(), asc.len());
    let future = s
        .client
        .admin_audit_filtered(
            &admin,
            0,
            Some(cofre_server::clock::now() + 3600),
            100,
            true,
        )
        .await
        .unwrap()
        .events;
    assert!(future.is_empty(), "{future:?}");

    // A deleted account's rows keep their ids, without a name.
    s.client.admin_delete(&admin, &bob.id).await.unwrap();
    let after = s
        .client
        .admin_audit_filtered(&admin, 0, None, 100, true)
        .await
        .unwrap()
        .events;
    let old_lock = after.iter().find(|e| e.event == "admin.lock").unwrap();
    assert_eq!(old_lock.subject.as_deref(), Some(bob.id.as_str()));
    assert_eq!(old_lock.subject_name, None);

    // A bad order is a 400, not a silent default.
    let (status, body) = get_raw(&s, "/admin/audit?order=sideways", admin.expose()).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(code(&body), "bad_request");
}
