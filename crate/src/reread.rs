//! A finding's full event, read again from the file when it is wanted.
//!
//! Findings keep where their record is (chunk and offset), not the event:
//! 57,344 findings with their events took 1.1 GB in the CLI and 7.3 GB in
//! the page. The record is parsed again from its one 64 KiB chunk.

use crate::reader::{CHUNK_SIZE, FILE_HEADER_SIZE};
use crate::scan::error_chain;
use evtx::{EvtxChunkData, ParserSettings};
use serde_json::Value;
use std::sync::Arc;

/// The file offset at which chunk `index` starts.
pub fn chunk_start(index: u64) -> u64 {
    FILE_HEADER_SIZE as u64 + index * CHUNK_SIZE as u64
}

/// Why an event could not be read again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RereadError(pub String);

impl std::fmt::Display for RereadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RereadError {}

/// The event of the record at file offset `offset` in chunk `chunk`, whose
/// bytes (from the chunk's start, up to 64 KiB) are `chunk_bytes`.
pub fn event_in_chunk(chunk_bytes: &[u8], chunk: u64, offset: u64) -> Result<Value, RereadError> {
    let fail = |what: String| RereadError(format!("chunk {chunk}, record at offset {offset}: {what}"));
    let wanted = offset.checked_sub(chunk_start(chunk)).ok_or_else(|| fail("the offset is before its chunk".into()))?;
    let mut data = chunk_bytes.to_vec();
    data.resize(CHUNK_SIZE, 0);
    let mut parsed_chunk = EvtxChunkData::new(data, false).map_err(|e| fail(error_chain(&e)))?;
    let settings = Arc::new(ParserSettings::default().num_threads(1));
    let mut parsed = parsed_chunk.parse(settings).map_err(|e| fail(error_chain(&e)))?;
    for record in parsed.iter().flatten() {
        let start = record.binxml_offset.saturating_sub(24);
        if start == wanted {
            return record.into_json_value().map(|j| j.data).map_err(|e| fail(error_chain(&e)));
        }
        if start > wanted {
            break;
        }
    }
    Err(fail("no record starts there (has the file changed?)".into()))
}

/// Reads the event again from a file on disk.
#[cfg(not(target_arch = "wasm32"))]
pub fn event_in_file(path: &std::path::Path, chunk: u64, offset: u64) -> Result<Value, RereadError> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path).map_err(|e| RereadError(format!("{}: cannot open: {e}", path.display())))?;
    file.seek(SeekFrom::Start(chunk_start(chunk))).map_err(|e| RereadError(format!("{}: {e}", path.display())))?;
    let mut bytes = Vec::with_capacity(CHUNK_SIZE);
    file.take(CHUNK_SIZE as u64).read_to_end(&mut bytes).map_err(|e| RereadError(format!("{}: {e}", path.display())))?;
    event_in_chunk(&bytes, chunk, offset)
}
