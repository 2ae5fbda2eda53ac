//! SHA-256 of each input, from the bytes the scan reads anyway: a case file
//! needs the evidence's hashes, and a second read of a multi-GB log would
//! double the time.
//!
//! The CLI reads a file in order on one thread ([`HashingReader`]). The
//! page's workers read parts of it in parallel and post what they read, so
//! pieces come out of order, and a text export's parts read past their ends
//! ([`InOrder`] puts them back in order and skips what was hashed already,
//! for a [`StreamDigest`]).

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;

/// The digest as `sha256sum` prints it: 64 lowercase hex digits.
fn hex(hasher: Sha256) -> String {
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The SHA-256 of `bytes` (tests, the demo log, files held in memory).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(Sha256::new_with_prefix(bytes))
}

/// Hashes every byte read through it. On the reading thread: a thread of its
/// own gave the same time on 2 cores (1 GiB scan: 1.44-1.54 s either way,
/// against 0.60 s without hashing; the hash is ~1.2 CPU s per GiB, sha2 with
/// the CPU's SHA extensions).
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        HashingReader { inner, hasher: Sha256::new(), bytes: 0 }
    }

    /// Reads what the scan left unread (a file that is no event log stops
    /// the scan at its first bytes), so the digest is always of the whole file.
    pub fn finish(mut self) -> std::io::Result<(String, u64)> {
        let mut buf = vec![0u8; 256 << 10];
        loop {
            if self.read(&mut buf)? == 0 {
                return Ok((hex(self.hasher), self.bytes));
            }
        }
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// The SHA-256 of a whole file (the CLI's check of a possible duplicate
/// input before it is analyzed).
pub fn file_sha256(path: &std::path::Path) -> std::io::Result<String> {
    HashingReader::new(std::fs::File::open(path)?).finish().map(|(hex, _)| hex)
}

/// Hashes bytes given in file order; knows how many it took.
#[derive(Default)]
pub struct StreamDigest {
    hasher: Sha256,
    bytes: u64,
}

impl StreamDigest {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
        self.bytes += bytes.len() as u64;
    }

    /// The digest, if exactly the file's `size` bytes were given.
    pub fn finish(self, size: u64) -> Option<String> {
        (self.bytes == size).then(|| hex(self.hasher))
    }
}

/// Puts pieces of a file back in file order. Pieces are held as they are
/// (the page keeps them as browser buffers, outside its wasm memory, which
/// would never shrink after a peak).
pub struct InOrder<P> {
    /// Bytes `0..next` were handed out.
    next: u64,
    /// Pieces that start past `next`, by offset: (length, piece), the longest kept per offset.
    pending: BTreeMap<u64, (usize, P)>,
}

impl<P> Default for InOrder<P> {
    fn default() -> Self {
        InOrder { next: 0, pending: BTreeMap::new() }
    }
}

impl<P> InOrder<P> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the piece at `offset` (`len` bytes); returns the pieces now due,
    /// in order, each with how many of its first bytes were handed out already.
    pub fn add(&mut self, offset: u64, len: usize, piece: P) -> Vec<(usize, P)> {
        let mut due = Vec::new();
        if offset > self.next {
            if self.pending.get(&offset).is_none_or(|(held, _)| *held < len) {
                self.pending.insert(offset, (len, piece));
            }
            return due;
        }
        self.hand_out(offset, len, piece, &mut due);
        while let Some(entry) = self.pending.first_entry() {
            if *entry.key() > self.next {
                break;
            }
            let (offset, (len, piece)) = entry.remove_entry();
            self.hand_out(offset, len, piece, &mut due);
        }
        due
    }

    fn hand_out(&mut self, offset: u64, len: usize, piece: P, due: &mut Vec<(usize, P)>) {
        let end = offset + len as u64;
        if end > self.next {
            due.push(((self.next - offset) as usize, piece));
            self.next = end;
        }
    }

    /// Gives up: the pieces held, to be let go (an earlier piece will never come).
    pub fn take_pending(&mut self) -> Vec<P> {
        std::mem::take(&mut self.pending).into_values().map(|(_, piece)| piece).collect()
    }

    /// Bytes held, waiting for an earlier piece.
    pub fn pending_bytes(&self) -> usize {
        self.pending.values().map(|(len, _)| len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `sha256sum` of the three bytes "abc" (FIPS 180-2's first example).
    const ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn reader_hashes_what_is_read_and_the_rest() {
        let mut r = HashingReader::new(&b"abc"[..]);
        let mut one = [0u8; 1];
        assert_eq!(r.read(&mut one).unwrap(), 1);
        assert_eq!(r.finish().unwrap(), (ABC.to_string(), 3));
    }

    /// Feeds pieces through `InOrder` into a `StreamDigest`, as the page does.
    fn digest_of(pieces: &[(u64, &[u8])], size: u64) -> (Option<String>, usize) {
        let mut order = InOrder::new();
        let mut digest = StreamDigest::new();
        let mut most_pending = 0;
        for (offset, bytes) in pieces {
            for (skip, piece) in order.add(*offset, bytes.len(), bytes.to_vec()) {
                digest.update(&piece[skip..]);
            }
            most_pending = most_pending.max(order.pending_bytes());
        }
        (digest.finish(size), most_pending)
    }

    #[test]
    fn pieces_out_of_order_and_overlapping() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let whole = sha256_hex(&data);
        let pieces: [(u64, &[u8]); 4] = [(6000, &data[6000..]), (2000, &data[2000..7000]), (0, &data[..2500]), (100, &data[100..200])];
        assert_eq!(digest_of(&pieces, data.len() as u64), (Some(whole), 4000 + 5000));
    }

    #[test]
    fn a_missing_piece_gives_no_digest() {
        assert_eq!(digest_of(&[(0, b"ab"), (3, b"d")], 4).0, None);
        assert_eq!(digest_of(&[(0, b"abc")], 4).0, None);
        assert_eq!(digest_of(&[(1, b"bc"), (0, b"a")], 3).0.as_deref(), Some(ABC));
        let mut order = InOrder::new();
        assert!(order.add(5, 2, "late").is_empty());
        assert_eq!(order.take_pending(), ["late"]);
        assert_eq!(order.pending_bytes(), 0);
    }
}
