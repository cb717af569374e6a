//! Several servers sharing one database, one key folder and one blob store behave as
//! one service: a token from one works on the other, refresh-token reuse seen by one
//! revokes everywhere, failed logins spread across servers count together (also when
//! they arrive at once), concurrent
//! writes through both lose nothing and keep one audit chain, only one runs a backup at
//! a time, and a server given other keys refuses to start.
//!
//! Built into both test binaries: on PostgreSQL the two servers share the database, an
//! S3 bucket (moto on loopback) and the key folder, and no disk besides; on SQLite they
//! share the database file (as two processes on one host would) and the bucket.

use cofre_api::ErrorCode;
use cofre_client::client::SecondFactor;
use cofre_client::vault::{NewItem, Source};
use cofre_core::secret::Password;
use cofre_core::vault::ItemKind;
use cofre_server::ServerConfig;
use cofre_server::blobs::BlobLocation;

use crate::support::*;

/// Two servers acting as one: `a` and its replica `b`, sharing the database, the key
/// folder and the blobs, which are in S3 (a fresh bucket on the loopback moto server)
/// unless S3 tests are skipped on this machine (never under `CI=true`). On PostgreSQL
/// `b` has a data directory of its own, so the two share no disk at all; on SQLite they
/// share the data directory that holds the database file.
/// Bind it whole (`let Pair { _moto, _b_dir, a, b } = …`), in that order, so that `b`
/// stops first and the S3 server last.
struct Pair {
    a: TestServer,
    b: TestServer,
    _b_dir: tempfile::TempDir,
    _moto: Option<std::sync::Arc<crate::moto::Moto>>,
}

async fn pair(tweak: impl Fn(&mut ServerConfig) + Clone + Send + 'static) -> Pair {
    let moto = crate::moto::moto();
    let blobs = match &moto {
        Some(m) => BlobLocation::S3(m.bucket("replicas").await),
        None => BlobLocation::DataDir,
    };
    let (blobs_a, tweak_a) = (blobs.clone(), tweak.clone());
    let a = start(move |c| {
        c.blobs = blobs_a;
        tweak_a(c);
    })
    .await;
    let (b, b_dir) = replica_of(&a, tweak).await;
    Pair {
        a,
        b,
        _b_dir: b_dir,
        _moto: moto,
    }
}

/// A second server on `a`'s database, key folder and blob store (see [`Pair`]).
async fn replica_of(
    a: &TestServer,
    tweak: impl FnOnce(&mut ServerConfig),
) -> (TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let shared = (*a.state.config).clone();
    let data = if shared.database_url.is_some() {
        dir.path().join("data")
    } else {
        a.data.clone()
    };
    let b = start_in(data, move |c| {
        c.database_url = shared.database_url.clone();
        c.keys_dir = Some(shared.keys_path());
        c.blobs = match &shared.blobs {
            BlobLocation::DataDir => BlobLocation::Folder(shared.blobs_path()),
            other => other.clone(),
        };
        tweak(c);
    })
    .await;
    (b, dir)
}

fn note(name: &str) -> NewItem {
    NewItem {
        kind: ItemKind::Note,
        name: name.to_owned(),
        content_type: "text/plain".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_from_one_server_works_on_the_other() {
    let Pair {
        _moto,
        _b_dir,
        a,
        b,
    } = pair(|_| {}).await;
    register(&a, "alice").await;
    let alice = login(&b, "alice").await;
    // Logged in on b, served by a, and the other way round.
    let me = a.client.whoami(&alice.tokens.access_token).await.unwrap();
    assert_eq!(me.user.username, "alice");
    let id = put(&a, &alice, "from a", b"written through a".to_vec()).await;
    assert_eq!(fetch(&b, &alice, &id).await, b"written through a");
    let id2 = put(&b, &alice, "from b", b"written through b".to_vec()).await;
    assert_eq!(fetch(&a, &alice, &id2).await, b"written through b");
    let listed = a
        .client
        .items(&alice.tokens.access_token, &alice.keys)
        .await
        .unwrap();
    assert_eq!(listed.len(), 2);
    // A refresh on one server, the new tokens on the other.
    let t = a.client.refresh(&alice.tokens.refresh_token).await.unwrap();
    b.client.whoami(&t.access_token).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_reuse_seen_by_one_server_revokes_the_session_on_both() {
    let Pair {
        _moto,
        _b_dir,
        a,
        b,
    } = pair(|_| {}).await;
    register(&a, "alice").await;
    let t1 = login(&a, "alice").await.tokens;
    // Rotated on b; then the old token is replayed on a.
    let t2 = b.client.refresh(&t1.refresh_token).await.unwrap();
    a.client.whoami(&t2.access_token).await.unwrap();
    let e = a.client.refresh(&t1.refresh_token).await.err().unwrap();
    assert_eq!(api_code(&e), ErrorCode::InvalidRefreshToken);
    for s in [&a, &b] {
        let e = s.client.whoami(&t2.access_token).await.err().unwrap();
        assert_eq!(api_code(&e), ErrorCode::Unauthorized);
        let e = s.client.refresh(&t2.refresh_token).await.err().unwrap();
        assert_eq!(api_code(&e), ErrorCode::InvalidRefreshToken);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_spread_across_servers_lock_at_the_configured_count() {
    let tweak = |c: &mut ServerConfig| {
        c.account_free_failures = 4;
        c.account_refill_secs = 60;
    };
    let Pair {
        _moto,
        _b_dir,
        a,
        b,
    } = pair(tweak).await;
    register(&a, "alice").await;
    let wrong = Password::new("definitely not the password");
    // Four failures, alternating servers: each saw only two.
    for (i, s) in [&a, &b, &a, &b].into_iter().enumerate() {
        let e = s
            .client
            .login("alice", &wrong, SecondFactor::None)
            .await
            .err()
            .unwrap();
        assert_eq!(api_code(&e), ErrorCode::InvalidCredentials, "attempt {i}");
    }
    // Locked on both, even with the right password.
    for s in [&a, &b] {
        let e = s
            .client
            .login("alice", &Password::new(PASSWORD), SecondFactor::None)
            .await
            .err()
            .unwrap();
        assert_eq!(api_code(&e), ErrorCode::TooManyRequests);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_guesses_through_both_servers_share_one_budget() {
    use crate::throttling::{WRONG_KEY, auth_key_of, check_storm, login_body, storm};
    let tweak = |c: &mut ServerConfig| {
        c.account_free_failures = 5;
        c.address_free_failures = 1000;
    };
    let Pair {
        _moto,
        _b_dir,
        a,
        b,
    } = pair(tweak).await;
    register(&a, "alice").await;
    let right = auth_key_of(&a, "alice", PASSWORD).await;
    // 120 wrong guesses alternating between the servers, the right password among them.
    let mut reqs: Vec<_> = (0..120)
        .map(|i| {
            let s = if i % 2 == 0 { &a } else { &b };
            (
                s.http.clone(),
                s.base.clone(),
                login_body("alice", WRONG_KEY, ""),
            )
        })
        .collect();
    reqs.insert(
        61,
        (
            b.http.clone(),
            b.base.clone(),
            login_body("alice", &right, ""),
        ),
    );
    let count = || a.state.hasher.verifications() + b.state.hasher.verifications();
    let before = count();
    let answers = storm(reqs).await;
    let ok = check_storm(&answers, 5, count() - before);
    assert_eq!(ok == 1, answers[61].0 == 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_through_both_lose_nothing_and_keep_one_audit_chain() {
    // The failed logins below all come from loopback: keep that address unlocked.
    let tweak = |c: &mut ServerConfig| c.address_free_failures = 1000;
    let Pair {
        _moto,
        _b_dir,
        a,
        b,
    } = pair(tweak).await;
    register(&a, "alice").await;
    register(&b, "bob").await;
    let alice = std::sync::Arc::new(login(&a, "alice").await);
    let bob = std::sync::Arc::new(login(&b, "bob").await);
    const PER_SERVER: usize = 8;
    let mut tasks = Vec::new();
    for i in 0..PER_SERVER {
        for (s, who) in [(&a, &alice), (&b, &bob), (&b, &alice), (&a, &bob)] {
            let client = s.client.clone();
            let who = std::sync::Arc::clone(who);
            let body = format!("item {i} via {}", s.base).into_bytes();
            tasks.push(tokio::spawn(async move {
                client
                    .upload(
                        &who.tokens.access_token,
                        &who.keys,
                        note(&format!("n{i}")),
                        Source::Bytes(body.clone()),
                        &|_, _| {},
                    )
                    .await
                    .map(|item| (item.id, body))
            }));
            // Audit events from both servers at the same time: failed logins.
            let client = s.client.clone();
            tasks.push(tokio::spawn(async move {
                let _ = client
                    .login("nobody", &Password::new("wrong"), SecondFactor::None)
                    .await;
                Ok((String::new(), Vec::new()))
            }));
        }
    }
    let mut written = Vec::new();
    for t in tasks {
        let (id, body) = t.await.unwrap().unwrap();
        if !id.is_empty() {
            written.push((id, body));
        }
    }
    assert_eq!(written.len(), 4 * PER_SERVER);
    for who in [&alice, &bob] {
        let listed = b
            .client
            .items(&who.tokens.access_token, &who.keys)
            .await
            .unwrap();
        assert_eq!(listed.len(), 2 * PER_SERVER, "every upload is there");
    }
    for (id, body) in &written {
        let who = if a
            .client
            .item(&alice.tokens.access_token, &alice.keys, id)
            .await
            .is_ok()
        {
            &alice
        } else {
            &bob
        };
        assert_eq!(&fetch(&a, who, id).await, body);
    }
    // One chain, every event in it: 2 registrations, 2 logins, 64 failed logins at least.
    match cofre_server::audit::verify(&a.state.store).await.unwrap() {
        cofre_server::audit::Verdict::Intact { rows } => {
            assert!(rows >= 4 + 4 * PER_SERVER as i64, "{rows} rows")
        }
        broken => panic!("{broken:?}"),
    }
    // And both servers keep appending to it.
    login(&a, "alice").await;
    login(&b, "bob").await;
    assert!(matches!(
        cofre_server::audit::verify(&b.state.store).await.unwrap(),
        cofre_server::audit::Verdict::Intact { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_has_one_holder_across_servers() {
    let Pair {
        _moto,
        _b_dir,
        a,
        b,
    } = pair(|_| {}).await;
    let (sa, sb) = (&a.state.store, &b.state.store);
    let now = cofre_server::clock::now();
    assert!(
        sa.take_lease("job", "server-a", now, now + 60)
            .await
            .unwrap()
    );
    assert!(
        !sb.take_lease("job", "server-b", now, now + 60)
            .await
            .unwrap()
    );
    // The holder renews; the other still cannot take it until it expires.
    assert!(
        sa.take_lease("job", "server-a", now + 30, now + 90)
            .await
            .unwrap()
    );
    assert!(
        !sb.take_lease("job", "server-b", now + 60, now + 120)
            .await
            .unwrap()
    );
    assert!(
        sb.take_lease("job", "server-b", now + 90, now + 150)
            .await
            .unwrap()
    );
    assert!(
        !sa.take_lease("job", "server-a", now + 91, now + 151)
            .await
            .unwrap()
    );
    // Given back, it is free at once; another's release does nothing.
    sa.release_lease("job", "server-a").await.unwrap();
    assert!(
        !sa.take_lease("job", "server-a", now + 92, now + 152)
            .await
            .unwrap()
    );
    sb.release_lease("job", "server-b").await.unwrap();
    assert!(
        sa.take_lease("job", "server-a", now + 92, now + 152)
            .await
            .unwrap()
    );
    // Two servers asking at the same moment: exactly one wins.
    let mut wins = 0;
    for round in 0..20 {
        let name = format!("race-{round}");
        let (x, y) = tokio::join!(
            sa.take_lease(&name, "server-a", now, now + 60),
            sb.take_lease(&name, "server-b", now, now + 60)
        );
        wins += usize::from(x.unwrap()) + usize::from(y.unwrap());
    }
    assert_eq!(wins, 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_with_other_keys_refuses_to_start_on_the_database() {
    let a = start(|_| {}).await;
    let other = tempfile::tempdir().unwrap();
    let mut config = test_config(other.path().join("data"));
    config.database_url = a.state.config.database_url.clone();
    if config.database_url.is_none() {
        // SQLite: the same database file, through a key folder of its own.
        config.data_dir = a.data.clone();
    }
    config.keys_dir = Some(other.path().join("keys"));
    let e = cofre_server::app::open(config).await.err().unwrap();
    assert!(
        matches!(e, cofre_server::app::StartError::KeysMismatch { .. }),
        "{e}"
    );
    assert!(e.to_string().contains("same key folder"), "{e}");
    // The right folder, given explicitly, is accepted.
    let (b, _b_dir) = replica_of(&a, |c| c.keys_dir = Some(a.data.join("keys"))).await;
    b.client.policy().await.unwrap();
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_signing_key_on_one_server_is_accepted_by_the_other() {
    let a = start(|_| {}).await;
    let (b, _b_dir) = replica_of(&a, |_| {}).await;
    register(&a, "alice").await;
    // Rotate in the shared key folder and restart a: it signs with the new key, which
    // b has never loaded.
    let keys = a.data.join("keys");
    let kid = cofre_server::secrets::rotate_signing_key(&keys, cofre_server::clock::now()).unwrap();
    let database = a.state.config.database_url.clone();
    let dir = a.stop().await;
    let a2 = start_in(dir.as_ref().unwrap().path().join("data"), move |c| {
        c.database_url = database;
    })
    .await;
    let alice = login(&a2, "alice").await;
    let header = jsonwebtoken::decode_header(alice.tokens.access_token.expose()).unwrap();
    assert_eq!(header.kid.as_deref(), Some(kid.as_str()));
    let me = b.client.whoami(&alice.tokens.access_token).await.unwrap();
    assert_eq!(me.user.username, "alice");
    // A token naming a key nobody has is still refused.
    let (status, _) = get_raw(
        &b,
        "/auth/whoami",
        "eyJhbGciOiJFZERTQSIsImtpZCI6ImZmZmYifQ.e30.AAAA",
    )
    .await;
    assert_eq!(status, 401);
    b.stop().await;
    a2.stop().await;
    drop(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_writer_per_upload_across_servers() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let Pair {
        _moto,
        _b_dir,
        a,
        b,
    } = pair(|_| {}).await;
    register(&a, "alice").await;
    let alice = login(&a, "alice").await;
    let tok = alice.tokens.access_token.expose().to_owned();
    let id = "00112233445566778899aabbccddeeff";
    let len = 64 * 1024;
    let (st, _, body) = post_raw(
        &a,
        "/items",
        Some(&tok),
        &format!(r#"{{"id":"{id}","size":{len}}}"#),
    )
    .await;
    assert_eq!(st, 201, "{body}");
    // A part to a, sent by hand: the headers and half the body, then a pause.
    let addr = a.base.trim_start_matches("http://").to_owned();
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "PUT /api/v1/items/{id}/body?offset=0 HTTP/1.1\r\nHost: {addr}\r\n\
         Authorization: Bearer {tok}\r\nContent-Length: {len}\r\n\r\n"
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    slow.write_all(&vec![7u8; len / 2]).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // Meanwhile the same upload through b is refused, and changes nothing.
    let put_b = |bytes: Vec<u8>| {
        let (b, tok) = (&b, tok.clone());
        async move {
            let r = b
                .http
                .put(b.url(&format!("/items/{id}/body?offset=0")))
                .bearer_auth(tok)
                .body(bytes)
                .send()
                .await
                .unwrap();
            let st = r.status().as_u16();
            (st, r.json::<serde_json::Value>().await.unwrap_or_default())
        }
    };
    let (st, body) = put_b(vec![9u8; 1024]).await;
    assert_eq!((st, code(&body)), (409, "conflict"), "{body}");
    // The first part finishes; then b may write.
    slow.write_all(&vec![7u8; len - len / 2]).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = slow.read(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]).into_owned();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    drop(slow);
    let (st, body) = put_b(vec![9u8; 1024]).await;
    assert_eq!(st, 200, "{body}");
}
