//! HTTPS: with a certificate and key the server speaks TLS only, and the client library
//! trusts a private CA when told to.

use cofre_client::Client;
use cofre_client::client::SecondFactor;
use cofre_core::secret::Password;
use cofre_server::config::TlsFiles;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_https_with_the_given_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let ck =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let cert_pem = ck.cert.pem();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, &cert_pem).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();

    let mut config = test_config(dir.path().join("data"));
    config.tls = Some(TlsFiles { cert, key });
    let (state, _) = cofre_server::app::open(config.clone()).await.unwrap();
    let listener = cofre_server::app::bind(&config).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(cofre_server::serve(listener, state, async {
        let _ = rx.await;
    }));

    // Trusting the certificate: the whole account flow works over TLS.
    let client = Client::with_ca(
        &format!("https://127.0.0.1:{port}"),
        Some(cert_pem.as_bytes()),
    )
    .unwrap();
    client
        .register("alice", &Password::new(PASSWORD), None)
        .await
        .unwrap();
    let l = client
        .login("alice", &Password::new(PASSWORD), SecondFactor::None)
        .await
        .unwrap();
    client.whoami(&l.tokens.access_token).await.unwrap();

    // Without trusting it, the connection is refused by the client...
    let untrusting = Client::new(&format!("https://127.0.0.1:{port}")).unwrap();
    let e = untrusting.policy().await.err().unwrap();
    assert!(matches!(e, cofre_client::ClientError::Http(_)), "{e}");
    // ...and plain HTTP to the TLS port gets no API answer.
    let plain = Client::new(&format!("http://127.0.0.1:{port}")).unwrap();
    assert!(plain.policy().await.is_err());

    tx.send(()).unwrap();
    server.await.unwrap().unwrap();
}
