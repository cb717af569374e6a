//! Access-token attacks: every forged, stale or misdirected token is refused, and
//! signing-key rotation keeps old tokens valid until they expire.

use cofre_api::Role;
use cofre_server::auth::jwt::Claims;
use jsonwebtoken::{Algorithm, EncodingKey, Header};

use crate::support::*;

fn b64(bytes: &[u8]) -> String {
    data_encoding::BASE64URL_NOPAD.encode(bytes)
}

/// Claims like the server's, for a real session.
fn claims(user_id: &str, sid: &str, now: i64) -> Claims {
    Claims {
        sub: user_id.into(),
        sid: sid.into(),
        role: Role::User,
        iss: "cofre".into(),
        aud: "cofre-api".into(),
        exp: now + 600,
        nbf: now,
        iat: now,
        jti: "test".into(),
    }
}

/// Signs with the server's own current key (what only the server can do).
fn sign(s: &TestServer, c: &Claims) -> String {
    let k = &s.state.keys.signing[0];
    let mut h = Header::new(Algorithm::EdDSA);
    h.kid = Some(k.kid.clone());
    jsonwebtoken::encode(&h, c, &EncodingKey::from_ed_der(k.pair.expose_pkcs8())).unwrap()
}

async fn status_of(s: &TestServer, token: &str) -> (u16, String) {
    let (status, body) = get_raw(s, "/auth/whoami", token).await;
    (status, code(&body).to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_and_misdirected_tokens_are_refused() {
    let s = start(|_| {}).await;
    register(&s, "alice").await;
    let l = login(&s, "alice").await;
    let (uid, sid) = (l.user.user_id.clone(), l.tokens.session_id.clone());
    let now = cofre_server::clock::now();

    // Control: a token we sign with the server's key and good claims is accepted, so
    // every refusal below is about the one thing changed.
    assert_eq!(
        status_of(&s, &sign(&s, &claims(&uid, &sid, now))).await.0,
        200
    );

    let mut cases: Vec<(&str, String)> = Vec::new();
    let mut c = claims(&uid, &sid, now);
    c.exp = now - 60;
    c.iat = now - 700;
    c.nbf = now - 700;
    cases.push(("expired", sign(&s, &c)));
    let mut c = claims(&uid, &sid, now);
    c.nbf = now + 300;
    cases.push(("not yet valid", sign(&s, &c)));
    let mut c = claims(&uid, &sid, now);
    c.aud = "another-service".into();
    cases.push(("wrong audience", sign(&s, &c)));
    let mut c = claims(&uid, &sid, now);
    c.iss = "https://evil.example".into();
    cases.push(("wrong issuer", sign(&s, &c)));
    let mut c = claims(&uid, &sid, now);
    c.sub = "someone-else".into();
    cases.push(("subject not the session's owner", sign(&s, &c)));
    cases.push((
        "session that does not exist",
        sign(&s, &claims(&uid, "nosuchsession", now)),
    ));

    // Tampered payload, original signature.
    let good = l.tokens.access_token.expose().to_owned();
    let parts: Vec<&str> = good.split('.').collect();
    let mut payload: serde_json::Value = serde_json::from_slice(
        &data_encoding::BASE64URL_NOPAD
            .decode(parts[1].as_bytes())
            .unwrap(),
    )
    .unwrap();
    payload["role"] = "admin".into();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64(payload.to_string().as_bytes()),
        parts[2]
    );
    cases.push(("tampered payload", tampered));
    // Flipped signature bit.
    let mut sig = data_encoding::BASE64URL_NOPAD
        .decode(parts[2].as_bytes())
        .unwrap();
    sig[0] ^= 1;
    cases.push((
        "tampered signature",
        format!("{}.{}.{}", parts[0], parts[1], b64(&sig)),
    ));

    let kid = s.state.keys.signing[0].kid.clone();
    let body = serde_json::to_vec(&claims(&uid, &sid, now)).unwrap();
    // alg: none, with and without a trailing signature.
    let none_header = format!(r#"{{"alg":"none","typ":"JWT","kid":"{kid}"}}"#);
    cases.push((
        "alg none",
        format!("{}.{}.", b64(none_header.as_bytes()), b64(&body)),
    ));
    cases.push((
        "alg none, signature kept",
        format!(
            "{}.{}.{}",
            b64(none_header.as_bytes()),
            b64(&body),
            parts[2]
        ),
    ));
    // HS256 keyed with the public key (the classic algorithm confusion), as raw bytes
    // and as its JWKS text.
    let public = *s.state.keys.signing[0].pair.public_key();
    for secret in [public.to_vec(), b64(&public).into_bytes()] {
        let mut h = Header::new(Algorithm::HS256);
        h.kid = Some(kid.clone());
        let t = jsonwebtoken::encode(
            &h,
            &claims(&uid, &sid, now),
            &EncodingKey::from_secret(&secret),
        )
        .unwrap();
        cases.push(("HS256 signed with the public key", t));
    }
    // A key the server never had, with an unknown kid and with the server's kid.
    let rogue = cofre_core::primitives::ed25519::SigningKeyPair::generate().unwrap();
    for k in ["unknown-kid", kid.as_str()] {
        let mut h = Header::new(Algorithm::EdDSA);
        h.kid = Some(k.to_owned());
        let t = jsonwebtoken::encode(
            &h,
            &claims(&uid, &sid, now),
            &EncodingKey::from_ed_der(rogue.expose_pkcs8()),
        )
        .unwrap();
        cases.push(("signed by a rogue key", t));
    }
    let mut h = Header::new(Algorithm::EdDSA);
    h.kid = None;
    let k = &s.state.keys.signing[0];
    cases.push((
        "no kid",
        jsonwebtoken::encode(
            &h,
            &claims(&uid, &sid, now),
            &EncodingKey::from_ed_der(k.pair.expose_pkcs8()),
        )
        .unwrap(),
    ));
    cases.push(("garbage", "not.a.jwt".into()));
    cases.push(("empty", String::new()));

    for (what, token) in &cases {
        let (status, c) = status_of(&s, token).await;
        assert_eq!(
            (status, c.as_str()),
            (401, "unauthorized"),
            "{what} was not refused"
        );
    }
    // A missing header and a non-Bearer scheme.
    let r = s.http.get(s.url("/auth/whoami")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = s
        .http
        .get(s.url("/auth/whoami"))
        .header("authorization", format!("Basic {good}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // A revoked session's still-unexpired token.
    s.client.logout(&l.tokens.access_token).await.unwrap();
    assert_eq!(status_of(&s, &good).await.0, 401);
    assert_eq!(
        status_of(&s, &sign(&s, &claims(&uid, &sid, now))).await.0,
        401
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_publishes_the_keys_and_rotation_keeps_old_tokens_valid() {
    let s = start(|_| {}).await;
    register(&s, "alice").await;
    let l = login(&s, "alice").await;
    let old_kid = s.state.keys.signing[0].kid.clone();
    let jwks: cofre_api::auth::JwkSet = s
        .http
        .get(s.url("/auth/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks.keys.len(), 1);
    assert_eq!(jwks.keys[0].kid, old_kid);
    assert_eq!(
        (jwks.keys[0].kty.as_str(), jwks.keys[0].alg.as_str()),
        ("OKP", "EdDSA")
    );

    // Rotate and restart on the same data directory.
    let data = s.data.clone();
    let dir = s.stop().await;
    let new_kid =
        cofre_server::secrets::rotate_signing_key(&data.join("keys"), cofre_server::clock::now())
            .unwrap();
    assert_ne!(new_kid, old_kid);
    let s = start_in(data.clone(), |_| {}).await;
    assert_eq!(s.state.keys.signing[0].kid, new_kid);
    // The token signed before the rotation still works...
    s.client.whoami(&l.tokens.access_token).await.unwrap();
    // ...and new tokens carry the new kid.
    let l2 = login(&s, "alice").await;
    let header = jsonwebtoken::decode_header(l2.tokens.access_token.expose()).unwrap();
    assert_eq!(header.kid.as_deref(), Some(new_kid.as_str()));
    assert_eq!(header.alg, Algorithm::EdDSA);
    let jwks: cofre_api::auth::JwkSet = s
        .http
        .get(s.url("/auth/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks.keys.len(), 2);

    // A second rotation retires the oldest key: its tokens stop verifying.
    let s_data = s.data.clone();
    s.stop().await;
    cofre_server::secrets::rotate_signing_key(&s_data.join("keys"), cofre_server::clock::now())
        .unwrap();
    let s = start_in(s_data, |_| {}).await;
    let (status, _) = get_raw(&s, "/auth/whoami", l.tokens.access_token.expose()).await;
    assert_eq!(status, 401);
    s.client.whoami(&l2.tokens.access_token).await.unwrap();
    drop(dir);
}

/// RFC 7515 §4.1.11: a header naming extensions the recipient must understand
/// (`crit`) is refused when the server understands none of them, even with a valid
/// signature from the server's own key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_with_an_unknown_critical_header_extension_is_refused() {
    let s = start(|_| {}).await;
    register(&s, "alice").await;
    let l = login(&s, "alice").await;
    let (uid, sid) = (l.user.user_id.clone(), l.tokens.session_id.clone());
    let now = cofre_server::clock::now();
    let c = claims(&uid, &sid, now);
    // Control: the same claims and key without `crit` are accepted.
    assert_eq!(status_of(&s, &sign(&s, &c)).await.0, 200);

    let k = &s.state.keys.signing[0];
    let mut h = Header::new(Algorithm::EdDSA);
    h.kid = Some(k.kid.clone());
    h.crit = Some(vec!["x".into()]);
    h.extras.insert("x", "must be understood");
    let t = jsonwebtoken::encode(&h, &c, &EncodingKey::from_ed_der(k.pair.expose_pkcs8())).unwrap();
    assert_eq!(
        status_of(&s, &t).await,
        (401, "unauthorized".to_owned()),
        "a crit extension was ignored"
    );
}
