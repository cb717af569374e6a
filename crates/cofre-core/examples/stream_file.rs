//! Benchmark driver for the stream format, not a user tool: `stream_file enc|dec IN OUT`.
//!
//! Encrypts or decrypts a whole file with `cofre_core::format::stream` under a fixed,
//! public benchmark key (a 64-byte constant, context `b"bench"`), so
//! `scripts/bench-stream.sh` can time it beside `openssl enc` and `rage` on the same
//! file. Anything it encrypts is readable by anyone: never use it on real data.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};

use cofre_core::format::stream;
use cofre_core::secret::SymmetricKey;

/// The benchmark key: public by construction.
const BENCH_KEY: [u8; 64] = [0x42; 64];
/// The stream context the benchmark uses.
const CONTEXT: &[u8] = b"bench";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, mode, input, output] = args.as_slice() else {
        return Err("usage: stream_file enc|dec IN OUT".into());
    };
    let key = SymmetricKey::from_secret_bytes(&BENCH_KEY);
    // The stream reads and writes whole chunks (64 KiB and more), which `BufReader` and
    // `BufWriter` pass straight through without copying once their buffer is empty;
    // they batch only the small pieces (the 20-byte header, the short last chunk).
    let reader = BufReader::new(File::open(input)?);
    let mut writer = BufWriter::new(File::create(output)?);
    match mode.as_str() {
        "enc" => stream::encrypt(&key, CONTEXT, reader, &mut writer)?,
        "dec" => stream::decrypt(&key, CONTEXT, reader, &mut writer)?,
        _ => return Err("mode must be enc or dec".into()),
    };
    // Surface write errors here rather than losing them in `BufWriter`'s drop. No
    // fsync: `openssl enc` and `rage` do not sync either, and the comparison is CPU.
    writer.flush()?;
    Ok(())
}
