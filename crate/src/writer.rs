//! A minimal EVTX writer: enough of the Windows XML Event Log format to build small,
//! well-formed `.evtx` files for tests and for the web app's sample log.
//!
//! The output is a real EVTX file that the `evtx` crate (and Windows tooling) reads with
//! checksums validated:
//!
//! ```text
//! file   = file header (4096 bytes) + chunk * N
//! chunk  = chunk header (512 bytes) + record * M + zeroed free space   (65536 bytes)
//! record = record header (24 bytes) + BinXML + copy of the record size (4 bytes)
//! ```
//!
//! Records are written as plain BinXML element trees (no templates): elements, attributes and
//! typed value-text tokens. Element and attribute names live in the chunk's string table: the
//! first use of a name in a chunk stores it inline, right after the reference to it, and links it
//! into the chunk header's string hash table; later uses in that chunk refer to that offset, as
//! Windows does. Every record renders as
//!
//! ```xml
//! <Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event">
//!   <System>
//!     <Provider Name="..." [Guid="{...}"]/>
//!     <EventID>..</EventID> <Version>..</Version> <Level>4</Level> <Task>..</Task>
//!     <Opcode>0</Opcode> <Keywords>0x8000000000000000</Keywords>
//!     <TimeCreated SystemTime="..."/>   (a FILETIME value)
//!     <EventRecordID>..</EventRecordID> <Correlation/>
//!     <Channel>..</Channel> <Computer>..</Computer>
//!     [<Security UserID="S-1-5-18"/>]
//!   </System>
//!   <EventData><Data Name="...">...</Data>...</EventData>
//! </Event>
//! ```
//!
//! The bracketed parts, and the Sysmon `Version` and `Task` values, are written for the
//! `Microsoft-Windows-Sysmon` provider only (see [`SYSMON_PROVIDER`]).
//!
//! # Limits
//!
//! * A record must fit in one chunk (64 KiB less the 512-byte chunk header, i.e. at most about
//!   32,000 UTF-16 code units of text per record). Larger events are cut down to fit: the
//!   longest string of the event (a `Data` value or name, the provider, channel or computer) is
//!   truncated, repeatedly, on a character boundary; only if that is not enough (thousands of
//!   `Data` pairs) are trailing `Data` pairs dropped.
//! * Strings are cut at their first U+0000, since EVTX readers end a string there.
//! * Within a chunk, record IDs are kept unique (a repeated ID starts a new chunk), because
//!   readers stop a chunk at its last record's ID. IDs need not be increasing.
//! * The file header's chunk count is 16 bits; past 65,535 chunks (about 4 GiB) it saturates
//!   (readers, `evtx` included, count chunks from the file size).

use std::fmt;

/// `Provider Name` of Sysmon events, which get Sysmon's provider GUID, versions, tasks and
/// `Security UserID` (SYSTEM).
pub const SYSMON_PROVIDER: &str = "Microsoft-Windows-Sysmon";
/// The channel Sysmon writes to.
pub const SYSMON_CHANNEL: &str = "Microsoft-Windows-Sysmon/Operational";
const SYSMON_GUID: &str = "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}";
const EVENT_XMLNS: &str = "http://schemas.microsoft.com/win/2004/08/events/event";

/// Size of the file header block.
const FILE_HEADER_SIZE: usize = 4096;
/// Size of a chunk, header included.
const CHUNK_SIZE: usize = 65536;
/// Size of a chunk header (its fixed part, string table and template table).
const CHUNK_HEADER_SIZE: usize = 512;
/// Size of a record header: magic, size, record ID, timestamp.
const RECORD_HEADER_SIZE: usize = 24;
/// Size of the copy of the record size that ends a record.
const RECORD_TRAILER_SIZE: usize = 4;
/// Buckets of the chunk string table (chunk header bytes 128..384).
const STRING_BUCKETS: usize = 64;

/// One event to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventSpec {
    /// `EventRecordID`, also stored in the record header.
    pub record_id: u64,
    /// ISO-8601 UTC time such as `"2019-03-17T19:09:41.3288680Z"` (see [`parse_filetime`]);
    /// written as `TimeCreated SystemTime` and as the record header's timestamp.
    pub time: String,
    /// `Provider Name`, e.g. `"Microsoft-Windows-Sysmon"`.
    pub provider: String,
    /// `EventID`.
    pub event_id: u16,
    /// `Channel`, e.g. `"Microsoft-Windows-Sysmon/Operational"`.
    pub channel: String,
    /// `Computer`.
    pub computer: String,
    /// `EventData` `Data Name`/value pairs, in order.
    pub data: Vec<(String, String)>,
}

impl EventSpec {
    /// A Sysmon event (provider `Microsoft-Windows-Sysmon`, channel
    /// `Microsoft-Windows-Sysmon/Operational`).
    pub fn sysmon(record_id: u64, time: &str, event_id: u16, computer: &str, data: &[(&str, &str)]) -> Self {
        EventSpec {
            record_id,
            time: time.to_owned(),
            provider: SYSMON_PROVIDER.to_owned(),
            event_id,
            channel: SYSMON_CHANNEL.to_owned(),
            computer: computer.to_owned(),
            data: data.iter().map(|&(name, value)| (name.to_owned(), value.to_owned())).collect(),
        }
    }
}

/// Why [`try_write_evtx`] could not write the events: an event's time does not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteError {
    /// The event's `record_id`.
    pub record_id: u64,
    /// Its `time`, as given.
    pub time: String,
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "event record {}: time {:?} is not an ISO-8601 UTC time from 1601 to 9999", self.record_id, self.time)
    }
}

impl std::error::Error for WriteError {}

/// A complete .evtx file (4 KiB header + 64 KiB chunks) holding these events in order.
///
/// No events give a file of just the header. See the module documentation for limits.
///
/// # Panics
///
/// If an event's time does not parse (see [`parse_filetime`]); [`try_write_evtx`] returns the
/// error instead.
pub fn write_evtx(events: &[EventSpec]) -> Vec<u8> {
    try_write_evtx(events).unwrap_or_else(|err| panic!("write_evtx: {err}"))
}

/// [`write_evtx`], with an error for an event whose time does not parse.
pub fn try_write_evtx(events: &[EventSpec]) -> Result<Vec<u8>, WriteError> {
    let mut file = vec![0u8; FILE_HEADER_SIZE];
    let mut chunk = ChunkBuilder::new();
    let mut chunk_count: u64 = 0;
    let mut next_record_id: u64 = 1;
    let mut scratch = Vec::with_capacity(4096);

    for event in events {
        let filetime = parse_filetime(&event.time).ok_or_else(|| WriteError { record_id: event.record_id, time: event.time.clone() })?;
        next_record_id = next_record_id.max(event.record_id.saturating_add(1));

        // Readers stop a chunk at the first record bearing the chunk's last record ID.
        if chunk.contains_id(event.record_id) {
            chunk.finish_into(&mut file);
            chunk_count += 1;
            chunk = ChunkBuilder::new();
        }

        let mut fields = Fields::new(event);
        loop {
            match chunk.try_add(event.record_id, filetime, &fields, &mut scratch) {
                Ok(()) => break,
                // Too big for what is left of this chunk: start another.
                Err(_) if !chunk.is_empty() => {
                    chunk.finish_into(&mut file);
                    chunk_count += 1;
                    chunk = ChunkBuilder::new();
                }
                // Too big for an empty chunk: cut the event down and try again.
                Err(overflow) => fields.shrink(overflow),
            }
        }
    }
    if !chunk.is_empty() {
        chunk.finish_into(&mut file);
        chunk_count += 1;
    }

    write_file_header(&mut file[..FILE_HEADER_SIZE], chunk_count, next_record_id);
    Ok(file)
}

/// Fill in the file header (the first 4096 bytes; MS-EVEN6 2.2.1 / libevtx "file header").
pub(crate) fn write_file_header(header: &mut [u8], chunk_count: u64, next_record_id: u64) {
    header[0..8].copy_from_slice(b"ElfFile\0"); //            0: signature
    put_u64(header, 8, 0); //                                  8: first chunk number
    put_u64(header, 16, chunk_count.saturating_sub(1)); //    16: last chunk number
    put_u64(header, 24, next_record_id); //                   24: next record identifier
    put_u32(header, 32, 128); //                              32: header size
    put_u16(header, 36, 1); //                                36: minor format version
    put_u16(header, 38, 3); //                                38: major format version
    put_u16(header, 40, FILE_HEADER_SIZE as u16); //          40: header block size
    put_u16(header, 42, chunk_count.min(u64::from(u16::MAX)) as u16); // 42: chunk count
                                                                      //                                                        44..120: unused (zero)
    put_u32(header, 120, 0); //                              120: flags (clean, not full)
    let checksum = zlib_rs::crc32::crc32(0, &header[..120]);
    put_u32(header, 124, checksum); //                       124: CRC32 of bytes 0..120
}

// ---------------------------------------------------------------------------------------------
// Time

/// Parse an ISO-8601 UTC time into a FILETIME (100 ns intervals since 1601-01-01 UTC).
///
/// Accepts `YYYY-MM-DDTHH:MM:SS`, a `T` or a space between date and time, an optional fraction
/// of any length (digits past the 7th, below 100 ns, are dropped), and an optional `Z` or
/// `±HH:MM` offset (none means UTC). Years 1601 to 9999.
pub fn parse_filetime(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = b.get(range)?;
        digits.iter().try_fold(0i64, |acc, &d| d.is_ascii_digit().then(|| acc * 10 + i64::from(d - b'0')))
    };
    let sep = |at: usize, allowed: &[u8]| b.get(at).is_some_and(|c| allowed.contains(c));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1601..=9999).contains(&year)
        || !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }

    // Fraction: ticks of 100 ns.
    let mut pos = 19;
    let mut ticks = 0i64;
    if b.get(pos) == Some(&b'.') {
        pos += 1;
        let start = pos;
        while b.get(pos).is_some_and(u8::is_ascii_digit) {
            if pos - start < 7 {
                ticks = ticks * 10 + i64::from(b[pos] - b'0');
            }
            pos += 1;
        }
        if pos == start {
            return None;
        }
        for _ in (pos - start)..7 {
            ticks *= 10;
        }
    }

    // Offset from UTC, in seconds.
    let offset = match b.get(pos..) {
        Some([] | [b'Z' | b'z']) => 0,
        Some([sign @ (b'+' | b'-'), _, _, b':', _, _]) => {
            let (h, m) = (num(pos + 1..pos + 3)?, num(pos + 4..pos + 6)?);
            if h > 23 || m > 59 {
                return None;
            }
            let offset = h * 3600 + m * 60;
            if *sign == b'-' {
                -offset
            } else {
                offset
            }
        }
        _ => return None,
    };

    let days = days_from_civil(year, month, day) - days_from_civil(1601, 1, 1);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    let filetime = seconds.checked_mul(10_000_000)?.checked_add(ticks)?;
    u64::try_from(filetime).ok()
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

// ---------------------------------------------------------------------------------------------
// The strings of one event, as written (possibly cut down to fit a chunk)

/// The strings of an event as they will be written: cut at any NUL, and cut down further by
/// [`Fields::shrink`] when the record would not fit in a chunk.
struct Fields<'e> {
    event: &'e EventSpec,
    provider: &'e str,
    channel: &'e str,
    computer: &'e str,
    data: Vec<(&'e str, &'e str)>,
}

impl<'e> Fields<'e> {
    fn new(event: &'e EventSpec) -> Self {
        Fields {
            event,
            provider: until_nul(&event.provider),
            channel: until_nul(&event.channel),
            computer: until_nul(&event.computer),
            data: event.data.iter().map(|(name, value)| (until_nul(name), until_nul(value))).collect(),
        }
    }

    fn is_sysmon(&self) -> bool {
        self.event.provider == SYSMON_PROVIDER
    }

    /// Make the record at least `overflow` bytes smaller: truncate the longest string, or when
    /// all strings are empty, drop the last `Data` pair.
    fn shrink(&mut self, overflow: usize) {
        let units = |s: &str| s.encode_utf16().count();
        let mut longest: Option<&mut &'e str> = None;
        let mut longest_units = 0;
        let candidates = [&mut self.provider, &mut self.channel, &mut self.computer]
            .into_iter()
            .chain(self.data.iter_mut().flat_map(|(name, value)| [name, value]));
        for s in candidates {
            let n = units(s);
            if n > longest_units {
                longest_units = n;
                longest = Some(s);
            }
        }
        match longest {
            Some(s) => {
                // Each UTF-16 code unit is two bytes of the record.
                let keep = longest_units.saturating_sub(overflow.div_ceil(2));
                *s = truncate_utf16(s, keep);
            }
            None => {
                self.data.pop().expect("a record without strings fits in a chunk");
            }
        }
    }
}

fn until_nul(s: &str) -> &str {
    s.split('\0').next().unwrap_or("")
}

/// The longest prefix of `s` of at most `max_units` UTF-16 code units (never splitting a
/// character, so surrogate pairs stay whole).
fn truncate_utf16(s: &str, max_units: usize) -> &str {
    let mut units = 0;
    for (at, ch) in s.char_indices() {
        units += ch.len_utf16();
        if units > max_units {
            return &s[..at];
        }
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Chunks

/// Element and attribute names used by the writer; `Tag as usize` indexes per-chunk tables.
#[derive(Clone, Copy)]
enum Tag {
    Event,
    Xmlns,
    System,
    Provider,
    Name,
    Guid,
    EventId,
    Version,
    Level,
    Task,
    Opcode,
    Keywords,
    TimeCreated,
    SystemTime,
    EventRecordId,
    Correlation,
    Channel,
    Computer,
    Security,
    UserId,
    EventData,
    Data,
}

const NAME_COUNT: usize = Tag::Data as usize + 1;

impl Tag {
    fn as_str(self) -> &'static str {
        match self {
            Tag::Event => "Event",
            Tag::Xmlns => "xmlns",
            Tag::System => "System",
            Tag::Provider => "Provider",
            Tag::Name => "Name",
            Tag::Guid => "Guid",
            Tag::EventId => "EventID",
            Tag::Version => "Version",
            Tag::Level => "Level",
            Tag::Task => "Task",
            Tag::Opcode => "Opcode",
            Tag::Keywords => "Keywords",
            Tag::TimeCreated => "TimeCreated",
            Tag::SystemTime => "SystemTime",
            Tag::EventRecordId => "EventRecordID",
            Tag::Correlation => "Correlation",
            Tag::Channel => "Channel",
            Tag::Computer => "Computer",
            Tag::Security => "Security",
            Tag::UserId => "UserID",
            Tag::EventData => "EventData",
            Tag::Data => "Data",
        }
    }
}

/// The hash of a name in the chunk string table: `hash = hash * 65599 + unit` over its UTF-16
/// code units, low 16 bits. Its bucket is `hash % 64`.
fn name_hash(name: &str) -> u16 {
    let hash = name.encode_utf16().fold(0u32, |h, unit| h.wrapping_mul(65599).wrapping_add(u32::from(unit)));
    (hash & 0xffff) as u16
}

/// The chunk string table: where each name is stored in the chunk (0: not yet), and the head of
/// each hash bucket's chain (chunk header bytes 128..384).
#[derive(Clone, Copy)]
struct StringTable {
    offsets: [u32; NAME_COUNT],
    buckets: [u32; STRING_BUCKETS],
}

/// One chunk being filled with records.
struct ChunkBuilder {
    /// The whole chunk, header included; records go from `free` on.
    data: Vec<u8>,
    /// Chunk offset of the free space (where the next record goes).
    free: usize,
    /// Chunk offset of the last record written.
    last_record: usize,
    first_id: u64,
    last_id: u64,
    ids: std::collections::HashSet<u64>,
    strings: StringTable,
}

impl ChunkBuilder {
    fn new() -> Self {
        ChunkBuilder {
            data: vec![0u8; CHUNK_SIZE],
            free: CHUNK_HEADER_SIZE,
            last_record: 0,
            first_id: 0,
            last_id: 0,
            ids: Default::default(),
            strings: StringTable { offsets: [0; NAME_COUNT], buckets: [0; STRING_BUCKETS] },
        }
    }

    fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    fn contains_id(&self, id: u64) -> bool {
        self.ids.contains(&id)
    }

    /// Append the record, or return by how many bytes it overflows the chunk (leaving the chunk
    /// unchanged).
    fn try_add(&mut self, record_id: u64, filetime: u64, fields: &Fields<'_>, scratch: &mut Vec<u8>) -> Result<(), usize> {
        let start = self.free;
        let mut enc = RecordEncoder { out: scratch, base: start, strings: self.strings };
        enc.out.clear();
        enc.record(record_id, filetime, fields);
        let size = enc.out.len();
        if start + size > CHUNK_SIZE {
            return Err(start + size - CHUNK_SIZE);
        }
        self.strings = enc.strings;
        self.data[start..start + size].copy_from_slice(scratch);
        if self.is_empty() {
            self.first_id = record_id;
        }
        self.last_id = record_id;
        self.ids.insert(record_id);
        self.last_record = start;
        self.free = start + size;
        Ok(())
    }

    /// Fill in the chunk header (libevtx "chunk header") and append the chunk to `file`.
    fn finish_into(mut self, file: &mut Vec<u8>) {
        let d = &mut self.data;
        d[0..8].copy_from_slice(b"ElfChnk\0"); //          0: signature
        put_u64(d, 8, self.first_id); //                    8: first event record number
        put_u64(d, 16, self.last_id); //                   16: last event record number
        put_u64(d, 24, self.first_id); //                  24: first event record identifier
        put_u64(d, 32, self.last_id); //                   32: last event record identifier
        put_u32(d, 40, 128); //                            40: header size
        put_u32(d, 44, self.last_record as u32); //        44: last event record data offset
        put_u32(d, 48, self.free as u32); //               48: free space offset
                                          //                                                 56..120: unused (zero)
        put_u32(d, 120, 0); //                            120: flags
        for (i, &head) in self.strings.buckets.iter().enumerate() {
            put_u32(d, 128 + 4 * i, head); //             128..384: string table buckets
        }
        //                                                384..512: template table (no templates)
        let events_checksum = zlib_rs::crc32::crc32(0, &d[CHUNK_HEADER_SIZE..self.free]);
        put_u32(d, 52, events_checksum); //                52: CRC32 of the records (512..free)
        let header_checksum = zlib_rs::crc32::crc32(zlib_rs::crc32::crc32(0, &d[..120]), &d[128..CHUNK_HEADER_SIZE]);
        put_u32(d, 124, header_checksum); //                124: CRC32 of bytes 0..120 and 128..512
        file.extend_from_slice(d);
    }
}

// ---------------------------------------------------------------------------------------------
// Records and BinXML

/// BinXML tokens (MS-EVEN6 2.2.12); `MORE` (0x40) flags a token followed by another attribute
/// (on `ATTRIBUTE`) or an element with attributes (on `OPEN_START_ELEMENT`).
mod token {
    pub const EOF: u8 = 0x00;
    pub const OPEN_START_ELEMENT: u8 = 0x01;
    pub const CLOSE_START_ELEMENT: u8 = 0x02;
    pub const CLOSE_EMPTY_ELEMENT: u8 = 0x03;
    pub const END_ELEMENT: u8 = 0x04;
    pub const VALUE: u8 = 0x05;
    pub const ATTRIBUTE: u8 = 0x06;
    pub const FRAGMENT_HEADER: u8 = 0x0f;
    pub const MORE: u8 = 0x40;
}

/// A typed BinXML value (MS-EVEN6 2.2.4.1 value types).
#[derive(Clone, Copy)]
enum Value<'a> {
    /// 0x01, UTF-16LE with a u16 count of code units.
    Str(&'a str),
    /// 0x04
    U8(u8),
    /// 0x06
    U16(u16),
    /// 0x0a
    U64(u64),
    /// 0x11, rendered as an ISO-8601 time.
    FileTime(u64),
    /// 0x13, `S-1-5-<sub authority>` (NT authority, one sub-authority).
    NtSid(u32),
    /// 0x15, rendered as `0x...`.
    HexU64(u64),
}

/// Encodes one record into `out`, which will sit at chunk offset `base`.
struct RecordEncoder<'s> {
    out: &'s mut Vec<u8>,
    base: usize,
    /// The chunk's string table plus the names this record adds (committed if it fits).
    strings: StringTable,
}

impl RecordEncoder<'_> {
    /// A whole record (libevtx "event record"):
    ///
    /// ```text
    ///  0  magic 2a 2a 00 00     4  size (u32, whole record)   8  record ID (u64)
    /// 16  FILETIME (u64)       24  BinXML ...                 size-4  size again (u32)
    /// ```
    fn record(&mut self, record_id: u64, filetime: u64, f: &Fields<'_>) {
        self.out.extend_from_slice(&[0x2a, 0x2a, 0, 0]);
        self.out.extend_from_slice(&0u32.to_le_bytes()); // size, patched below
        self.out.extend_from_slice(&record_id.to_le_bytes());
        self.out.extend_from_slice(&filetime.to_le_bytes());
        debug_assert_eq!(self.out.len(), RECORD_HEADER_SIZE);

        // Fragment header: token, major version 1, minor version 1, flags 0.
        self.out.extend_from_slice(&[token::FRAGMENT_HEADER, 1, 1, 0]);
        self.event(record_id, filetime, f);
        self.out.push(token::EOF);

        let size = (self.out.len() + RECORD_TRAILER_SIZE) as u32;
        self.out.extend_from_slice(&size.to_le_bytes());
        put_u32(self.out, 4, size);
    }

    fn event(&mut self, record_id: u64, filetime: u64, f: &Fields<'_>) {
        let sysmon = f.is_sysmon();
        let event_id = f.event.event_id;
        let event = self.open(Tag::Event, &[(Tag::Xmlns, Value::Str(EVENT_XMLNS))]);

        let system = self.open(Tag::System, &[]);
        if sysmon {
            self.empty(Tag::Provider, &[(Tag::Name, Value::Str(f.provider)), (Tag::Guid, Value::Str(SYSMON_GUID))]);
        } else {
            self.empty(Tag::Provider, &[(Tag::Name, Value::Str(f.provider))]);
        }
        self.leaf(Tag::EventId, Value::U16(event_id));
        let (version, task) = if sysmon { (sysmon_version(event_id), event_id) } else { (0, 0) };
        self.leaf(Tag::Version, Value::U8(version));
        self.leaf(Tag::Level, Value::U8(4)); // Information
        self.leaf(Tag::Task, Value::U16(task));
        self.leaf(Tag::Opcode, Value::U8(0)); // Info
        self.leaf(Tag::Keywords, Value::HexU64(0x8000_0000_0000_0000));
        self.empty(Tag::TimeCreated, &[(Tag::SystemTime, Value::FileTime(filetime))]);
        self.leaf(Tag::EventRecordId, Value::U64(record_id));
        self.empty(Tag::Correlation, &[]);
        self.leaf(Tag::Channel, Value::Str(f.channel));
        self.leaf(Tag::Computer, Value::Str(f.computer));
        if sysmon {
            // Sysmon runs as SYSTEM, S-1-5-18.
            self.empty(Tag::Security, &[(Tag::UserId, Value::NtSid(18))]);
        }
        self.close(system);

        if f.data.is_empty() {
            self.empty(Tag::EventData, &[]);
        } else {
            let event_data = self.open(Tag::EventData, &[]);
            for &(name, value) in &f.data {
                let data = self.open(Tag::Data, &[(Tag::Name, Value::Str(name))]);
                self.value(Value::Str(value));
                self.close(data);
            }
            self.close(event_data);
        }

        self.close(event);
    }

    /// `<name attrs>`: returns where the element's data size is, for [`Self::close`].
    fn open(&mut self, name: Tag, attributes: &[(Tag, Value<'_>)]) -> usize {
        let size_at = self.start_element(name, attributes);
        self.out.push(token::CLOSE_START_ELEMENT);
        size_at
    }

    /// `</name>` of the element [`Self::open`] began.
    fn close(&mut self, size_at: usize) {
        self.out.push(token::END_ELEMENT);
        self.patch_size(size_at);
    }

    /// `<name attrs/>`
    fn empty(&mut self, name: Tag, attributes: &[(Tag, Value<'_>)]) {
        let size_at = self.start_element(name, attributes);
        self.out.push(token::CLOSE_EMPTY_ELEMENT);
        self.patch_size(size_at);
    }

    /// `<name>value</name>`
    fn leaf(&mut self, name: Tag, value: Value<'_>) {
        let element = self.open(name, &[]);
        self.value(value);
        self.close(element);
    }

    /// An element start and its attributes, up to (not including) the close-start or
    /// close-empty token:
    ///
    /// ```text
    /// 0x01|0x41  data size (u32)  name reference  [attribute list size (u32)  attributes...]
    /// ```
    ///
    /// The data size counts the bytes after it up to and including the element's end token,
    /// which [`Self::patch_size`] fills in; 0x41 says the element has attributes.
    fn start_element(&mut self, name: Tag, attributes: &[(Tag, Value<'_>)]) -> usize {
        let flags = if attributes.is_empty() { 0 } else { token::MORE };
        self.out.push(token::OPEN_START_ELEMENT | flags);
        let size_at = self.out.len();
        self.out.extend_from_slice(&0u32.to_le_bytes());
        self.name_ref(name);
        if !attributes.is_empty() {
            let list_size_at = self.out.len();
            self.out.extend_from_slice(&0u32.to_le_bytes());
            for (i, &(attr, value)) in attributes.iter().enumerate() {
                // 0x46: another attribute follows.
                let more = if i + 1 < attributes.len() { token::MORE } else { 0 };
                self.out.push(token::ATTRIBUTE | more);
                self.name_ref(attr);
                self.value(value);
            }
            self.patch_size(list_size_at);
        }
        size_at
    }

    /// Store at `at` (a u32) the number of bytes written after it.
    fn patch_size(&mut self, at: usize) {
        let size = (self.out.len() - at - 4) as u32;
        put_u32(self.out, at, size);
    }

    /// A reference to a name in the chunk string table: its chunk offset (u32). A name not yet
    /// in the chunk is stored right after the reference (which then points just past itself),
    /// as a string table entry:
    ///
    /// ```text
    /// next entry in the bucket (u32)  hash (u16)  length in UTF-16 units (u16)  UTF-16LE  0 (u16)
    /// ```
    fn name_ref(&mut self, name: Tag) {
        let known = self.strings.offsets[name as usize];
        if known != 0 {
            self.out.extend_from_slice(&known.to_le_bytes());
            return;
        }
        let offset = (self.base + self.out.len() + 4) as u32;
        self.out.extend_from_slice(&offset.to_le_bytes());

        let text = name.as_str();
        let hash = name_hash(text);
        let bucket = usize::from(hash) % STRING_BUCKETS;
        self.out.extend_from_slice(&self.strings.buckets[bucket].to_le_bytes());
        self.out.extend_from_slice(&hash.to_le_bytes());
        self.out.extend_from_slice(&(text.encode_utf16().count() as u16).to_le_bytes());
        self.push_utf16(text);
        self.out.extend_from_slice(&0u16.to_le_bytes());

        self.strings.buckets[bucket] = offset;
        self.strings.offsets[name as usize] = offset;
    }

    /// A value-text token: 0x05, the value type, the value.
    fn value(&mut self, value: Value<'_>) {
        self.out.push(token::VALUE);
        match value {
            Value::Str(s) => {
                self.out.push(0x01);
                // Fields::shrink keeps records (so strings) well under 65,535 code units; the
                // cut here only guards the u16 count.
                let s = truncate_utf16(s, usize::from(u16::MAX));
                let units = s.encode_utf16().count() as u16;
                self.out.extend_from_slice(&units.to_le_bytes());
                self.push_utf16(s);
            }
            Value::U8(v) => self.out.extend_from_slice(&[0x04, v]),
            Value::U16(v) => {
                self.out.push(0x06);
                self.out.extend_from_slice(&v.to_le_bytes());
            }
            Value::U64(v) => {
                self.out.push(0x0a);
                self.out.extend_from_slice(&v.to_le_bytes());
            }
            Value::FileTime(v) => {
                self.out.push(0x11);
                self.out.extend_from_slice(&v.to_le_bytes());
            }
            Value::NtSid(sub_authority) => {
                // Revision 1, one sub-authority, authority 5 (48-bit big-endian), then the
                // sub-authority (u32 little-endian).
                self.out.extend_from_slice(&[0x13, 1, 1, 0, 0, 0, 0, 0, 5]);
                self.out.extend_from_slice(&sub_authority.to_le_bytes());
            }
            Value::HexU64(v) => {
                self.out.push(0x15);
                self.out.extend_from_slice(&v.to_le_bytes());
            }
        }
    }

    fn push_utf16(&mut self, s: &str) {
        for unit in s.encode_utf16() {
            self.out.extend_from_slice(&unit.to_le_bytes());
        }
    }
}

/// The event version Sysmon (v13+, schema 4.x) writes for an event ID.
fn sysmon_version(event_id: u16) -> u8 {
    match event_id {
        1 | 3 | 22 | 23 | 26 => 5,
        2 | 6 => 4,
        5 | 7 | 10 => 3,
        4 | 8 | 9 | 11 | 12 | 13 | 14 | 15 | 16 | 17 | 18 | 19 | 20 | 21 | 24 | 25 => 2,
        _ => 0,
    }
}

fn put_u16(buf: &mut [u8], at: usize, v: u16) {
    buf[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

fn put_u32(buf: &mut [u8], at: usize, v: u32) {
    buf[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn put_u64(buf: &mut [u8], at: usize, v: u64) {
    buf[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_times() {
        // 1970-01-01 is 11644473600 s after 1601-01-01.
        assert_eq!(parse_filetime("1970-01-01T00:00:00Z"), Some(116_444_736_000_000_000));
        assert_eq!(parse_filetime("1601-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_filetime("2019-03-17T19:09:41.3288680Z"), parse_filetime("2019-03-17 19:09:41.328868"));
        assert_eq!(parse_filetime("2019-03-17T21:09:41.1234567+02:00"), parse_filetime("2019-03-17T19:09:41.123456789Z"));
        for bad in [
            "",
            "2019-02-29T00:00:00Z",
            "2019-03-17T24:00:00Z",
            "1600-12-31T23:59:59Z",
            "2019-03-17T19:09:41.Z",
            "2019-03-17T19:09:41Zjunk",
            "2019-3-17T19:09:41Z",
        ] {
            assert_eq!(parse_filetime(bad), None, "{bad}");
        }
    }

    #[test]
    fn truncates_on_character_boundaries() {
        assert_eq!(truncate_utf16("a😀b", 2), "a");
        assert_eq!(truncate_utf16("a😀b", 3), "a😀");
        assert_eq!(truncate_utf16("abc", 10), "abc");
    }
}
