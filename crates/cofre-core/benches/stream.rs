//! Criterion benchmarks of cofre-core's hot paths: the file stream (64 MiB in memory),
//! the sealed box (1 KiB), RSA-3072 OAEP wrap/unwrap of an item key, RSA-3072 PSS
//! signing, and the password KDF at its default parameters.
//!
//! `cargo bench -p cofre-core --bench stream` takes about two minutes on two cores.
//! `scripts/bench-stream.sh` measures whole files against `openssl enc` and `rage`;
//! `docs/BENCHMARKS.md` has the results.

// A benchmark whose setup or operation fails must stop loudly: criterion's closures have
// no caller to hand an error to, so `unwrap` is the right tool here. The criterion
// macros generate undocumented public functions.
#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use cofre_core::format::{SealedBox, WrappedKey, stream};
use cofre_core::keys::{ItemKey, KdfParams, KdfSalt, MasterKey};
use cofre_core::primitives::rsa::PrivateKey;
use cofre_core::secret::{Password, SymmetricKey};
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};

/// Size of the in-memory stream benchmark.
const STREAM_BYTES: usize = 64 << 20;

fn stream_64mib(c: &mut Criterion) {
    let key = SymmetricKey::generate().unwrap();
    // Content does not matter to AES-CBC or HMAC; a non-constant pattern anyway.
    let plain: Vec<u8> = (0..STREAM_BYTES).map(|i| (i % 251) as u8).collect();
    let ct = stream::encrypt_to_vec(&key, b"bench", &plain).unwrap();
    let mut out = Vec::with_capacity(ct.len());

    let mut g = c.benchmark_group("stream_64MiB");
    g.throughput(Throughput::Bytes(STREAM_BYTES as u64))
        .sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(8));
    g.bench_function("encrypt", |b| {
        b.iter(|| {
            out.clear();
            stream::encrypt(&key, b"bench", black_box(&plain[..]), &mut out).unwrap()
        })
    });
    g.bench_function("decrypt", |b| {
        b.iter(|| {
            out.clear();
            stream::decrypt(&key, b"bench", black_box(&ct[..]), &mut out).unwrap()
        })
    });
    g.finish();
}

fn sealed_box_1kib(c: &mut Criterion) {
    let key = SymmetricKey::generate().unwrap();
    let msg = vec![1u8; 1024];
    let sealed = SealedBox::seal(&key, b"ctx", &msg).unwrap();

    let mut g = c.benchmark_group("sealed_box_1KiB");
    g.throughput(Throughput::Bytes(msg.len() as u64))
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    g.bench_function("seal", |b| {
        b.iter(|| SealedBox::seal(&key, b"ctx", black_box(&msg)).unwrap())
    });
    g.bench_function("open", |b| {
        b.iter(|| black_box(&sealed).open(&key, b"ctx").unwrap())
    });
    g.finish();
}

fn rsa3072(c: &mut Criterion) {
    let sk = PrivateKey::generate().unwrap();
    let item = ItemKey::generate().unwrap();
    let context = ItemKey::context("bench-item");
    let wrapped = WrappedKey::wrap(item.key(), sk.public_key(), &context).unwrap();

    let mut g = c.benchmark_group("rsa3072");
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    g.bench_function("oaep_wrap_item_key", |b| {
        b.iter(|| WrappedKey::wrap(item.key(), sk.public_key(), &context).unwrap())
    });
    g.bench_function("oaep_unwrap_item_key", |b| {
        b.iter(|| black_box(&wrapped).unwrap(&sk, &context).unwrap())
    });
    g.bench_function("pss_sign", |b| {
        b.iter(|| {
            sk.pss_sign(black_box(b"a 32-byte-ish message to sign"))
                .unwrap()
        })
    });
    g.finish();
}

fn password_kdf(c: &mut Criterion) {
    let pw = Password::new("correct horse battery staple");
    let salt = KdfSalt([7; 16]);
    let params = KdfParams::default();

    let mut g = c.benchmark_group("password_kdf");
    // Half a second per derivation: one derivation per sample, ten samples.
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(6));
    g.bench_function("argon2id_default", |b| {
        b.iter(|| MasterKey::derive(&pw, &salt, &params).unwrap())
    });
    g.finish();
}

criterion_group!(
    benches,
    stream_64mib,
    sealed_box_1kib,
    rsa3072,
    password_kdf
);
criterion_main!(benches);
