//! The view read straight from a record's template values (`quick_view`)
//! equals the view of its rendered JSON, field for field and in order, on
//! every record of `../shared/corpus` it reads. Under CI the corpus must be
//! there; elsewhere the test skips with a notice.

mod support;

use evtx_triage::event::EventView;
use evtx_triage::quick_view::ChunkViews;
use evtx_triage::reader::ChunkSplitter;
use std::sync::Arc;

/// Records the quick way read, and how many records the parser rendered.
#[derive(Debug, Default, PartialEq)]
struct Coverage {
    quick: usize,
    rendered: usize,
}

/// Compares both views on every record of a log; pushes each difference.
fn compare(name: &str, bytes: &[u8], differences: &mut Vec<String>) -> Coverage {
    let mut coverage = Coverage::default();
    let Ok(chunks) = ChunkSplitter::new().push(bytes) else { return coverage };
    let settings = Arc::new(evtx::ParserSettings::default().num_threads(1));
    for c in chunks.iter().filter(|c| c.data.len() == 65536) {
        let Ok(mut chunk) = evtx::EvtxChunkData::new(c.data.clone(), false) else { continue };
        let Ok(mut parsed) = chunk.parse(settings.clone()) else { continue };
        let mut views = ChunkViews::default();
        for record in parsed.iter().flatten() {
            let offset = record.binxml_offset as usize - 24;
            let size = u32::from_le_bytes(c.data[offset + 4..offset + 8].try_into().unwrap()) as usize;
            let Ok(json) = record.into_json_bytes() else { continue };
            let Ok(full) = EventView::from_evtx_json(&json.data) else { continue };
            coverage.rendered += 1;
            if let Some(quick) = views.view(&c.data, offset, size) {
                coverage.quick += 1;
                // As text, so the field order counts too.
                let text = |v: &serde_json::Value| serde_json::to_string(v).unwrap();
                if text(&quick.fields) != text(&full.fields) {
                    differences.push(format!("{name} chunk {} @{offset}:\n quick {}\n full  {}", c.index, quick.fields, full.fields));
                }
            }
        }
    }
    coverage
}

#[test]
fn quick_views_equal_rendered_views_on_the_corpus() {
    let Some(dir) = support::corpus_dir("the quick view test") else { return };
    let expected: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let mut differences = Vec::new();
    let mut total = Coverage::default();
    for rel in expected.as_object().unwrap().keys() {
        let bytes = std::fs::read(dir.join(rel)).unwrap();
        let c = compare(rel, &bytes, &mut differences);
        total.quick += c.quick;
        total.rendered += c.rendered;
        if rel.ends_with("sysmon_10_11_outlfank_dumpert_and_andrewspecial_memdump.evtx") {
            assert_eq!(c.quick, c.rendered, "every record of this Sysmon log is read the quick way");
        }
    }
    eprintln!("quick views: {} of {} rendered records", total.quick, total.rendered);
    assert!(
        differences.is_empty(),
        "{} difference(s), the first ones:\n{}",
        differences.len(),
        differences[..differences.len().min(5)].join("\n")
    );
    // Pinned: a change that reads fewer records the quick way (or more, unchecked) shows here.
    assert_eq!(total, Coverage { quick: 20_936, rendered: 26_818 });
}

/// A chunk read again (stories, contexts) gives the events of a full parse, though
/// an intact chunk is read from its template values: every chunk of the corpus, read
/// whole and with a filter on the record's offset and BinXML bytes.
#[test]
fn chunks_read_again_give_the_parsed_events_on_the_corpus() {
    use evtx_triage::reread::{events_in_chunk_where, events_in_chunk_with};
    let Some(dir) = support::corpus_dir("the chunk re-read test") else { return };
    let expected: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let as_text = |events: Vec<(u64, EventView)>| events.into_iter().map(|(o, v)| format!("{o} {}", v.fields)).collect::<Vec<_>>();
    let some: fn(usize, &[u8]) -> bool = |offset, binxml| binxml.len() % 2 == 0 || offset % 3 == 0;
    let all: fn(usize, &[u8]) -> bool = |_, _| true;
    let (mut chunks_compared, mut events) = (0, 0);
    for rel in expected.as_object().unwrap().keys() {
        let bytes = std::fs::read(dir.join(rel)).unwrap();
        let Ok(chunks) = ChunkSplitter::new().push(&bytes) else { continue };
        for c in &chunks {
            for keep in [all, some] {
                let read = events_in_chunk_where(&c.data, c.index, keep).map(as_text);
                let parsed = events_in_chunk_with(&c.data, c.index, None, keep).map(as_text);
                assert_eq!(read, parsed, "{rel} chunk {}", c.index);
                events += read.map_or(0, |r| r.len());
            }
            chunks_compared += 1;
        }
    }
    eprintln!("{chunks_compared} chunks, {events} events read both ways");
    assert!(chunks_compared > 100 && events > 20_000, "{chunks_compared} chunks, {events} events: is the corpus complete?");
}
