//! Decompressing a backup entry strictly: exactly one complete Zstandard frame, nothing
//! after it, and never more output than the manifest's size (so a crafted archive
//! cannot fill the disk before the size check).

use std::io::{self, Write};

use zstd::stream::raw::{Decoder, Operation as _};

/// A writer that decompresses one zstd frame into `out`.
pub(crate) struct OneFrame<W: Write> {
    decoder: Decoder<'static>,
    out: W,
    buf: Vec<u8>,
    limit: u64,
    written: u64,
    done: bool,
}

fn invalid(msg: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

impl<W: Write> OneFrame<W> {
    /// Decompresses into `out`, refusing more than `limit` bytes of output.
    pub(crate) fn new(out: W, limit: u64) -> io::Result<Self> {
        Ok(Self {
            decoder: Decoder::new()?,
            out,
            buf: vec![0u8; 1 << 17],
            limit,
            written: 0,
            done: false,
        })
    }

    /// Checks the frame was complete; returns the bytes written.
    pub(crate) fn finish(mut self) -> io::Result<u64> {
        if !self.done {
            return Err(invalid("truncated zstd frame"));
        }
        self.out.flush()?;
        Ok(self.written)
    }
}

impl<W: Write> Write for OneFrame<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let mut input = data;
        loop {
            if input.is_empty() {
                return Ok(data.len());
            }
            if self.done {
                return Err(invalid("data after the zstd frame"));
            }
            let st = self.decoder.run_on_buffers(input, &mut self.buf)?;
            input = input.get(st.bytes_read..).unwrap_or_default();
            let produced = self.buf.get(..st.bytes_written).unwrap_or_default();
            self.written += produced.len() as u64;
            if self.written > self.limit {
                return Err(invalid("decompresses to more than the manifest says"));
            }
            self.out.write_all(produced)?;
            if st.remaining == 0 {
                self.done = true;
            }
            // Output left inside the decoder: drain it before taking more input.
            while !self.done && st.bytes_written == self.buf.len() {
                let more = self.decoder.run_on_buffers(&[], &mut self.buf)?;
                let produced = self.buf.get(..more.bytes_written).unwrap_or_default();
                self.written += produced.len() as u64;
                if self.written > self.limit {
                    return Err(invalid("decompresses to more than the manifest says"));
                }
                self.out.write_all(produced)?;
                if more.remaining == 0 {
                    self.done = true;
                }
                if more.bytes_written < self.buf.len() {
                    break;
                }
            }
            if st.bytes_read == 0 && st.bytes_written == 0 && !self.done {
                return Err(invalid("zstd decoder made no progress"));
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(data: &[u8]) -> Vec<u8> {
        zstd::stream::encode_all(data, 3).unwrap()
    }

    fn run(input: &[u8], limit: u64, piece: usize) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut d = OneFrame::new(&mut out, limit)?;
        for p in input.chunks(piece.max(1)) {
            d.write_all(p)?;
        }
        d.finish()?;
        Ok(out)
    }

    #[test]
    fn one_frame_exactly_and_bounded() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let f = frame(&data);
        for piece in [1, 7, 4096, f.len()] {
            assert_eq!(run(&f, data.len() as u64, piece).unwrap(), data, "{piece}");
        }
        assert_eq!(run(&frame(b""), 0, 10).unwrap(), b"");
        // Two frames, a frame and trailing bytes, a truncated frame: refused.
        let two = [f.clone(), frame(b"x")].concat();
        assert!(run(&two, u64::MAX, 4096).is_err());
        let trailing = [f.clone(), vec![0x28, 0xb5, 0x2f, 0xfd, 0]].concat();
        assert!(run(&trailing, u64::MAX, 4096).is_err());
        assert!(run(&f[..f.len() - 3], u64::MAX, 4096).is_err());
        assert!(run(&[], u64::MAX, 1).is_err(), "no frame at all");
        // More output than allowed stops as soon as it is exceeded.
        assert!(run(&f, data.len() as u64 - 1, 4096).is_err());
    }
}
