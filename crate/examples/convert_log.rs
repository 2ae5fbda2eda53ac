//! Writes an EVTX log's records as a text export, repeated up to a size:
//! inputs for the end-to-end tests and benchmarks of the text formats.
//!
//! `convert_log IN.evtx OUT FORM [MIB]` with FORM one of evtx-jsonl,
//! evtx-json, event-xml, winlogbeat, security-datasets. With MIB, the
//! records are written again and again until the file reaches that size.

use evtx_triage::text_export::{records, TextForm};
use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output, form, rest @ ..] = args.as_slice() else {
        eprintln!("usage: convert_log IN.evtx OUT evtx-jsonl|evtx-json|event-xml|winlogbeat|security-datasets [MIB]");
        std::process::exit(2);
    };
    let Some(form) = TextForm::parse(form) else {
        eprintln!("convert_log: unknown form {form}");
        std::process::exit(2);
    };
    let target = rest.first().map(|m| m.parse::<u64>().expect("MIB is a number") << 20).unwrap_or(0);
    let bytes = std::fs::read(input).unwrap_or_else(|e| panic!("{input}: {e}"));
    let (json, xml) = records(&bytes);
    let mut text = form.write(&json, &xml);
    // XML's <Events> wrapper is written once: repeat what is inside it.
    let (head, body, tail) = match form {
        TextForm::EventXml => {
            let start = text.windows(8).position(|w| w == b"<Events>").map_or(0, |i| i + 8);
            let end = text.windows(9).rposition(|w| w == b"</Events>").unwrap_or(text.len());
            (text[..start].to_vec(), text[start..end].to_vec(), text[end..].to_vec())
        }
        _ => (Vec::new(), std::mem::take(&mut text), Vec::new()),
    };
    let mut out = std::io::BufWriter::new(std::fs::File::create(output).unwrap_or_else(|e| panic!("{output}: {e}")));
    out.write_all(&head).unwrap();
    let mut written = head.len() as u64;
    let mut copies = 0;
    while copies == 0 || written + (body.len() as u64) <= target {
        out.write_all(&body).unwrap();
        written += body.len() as u64;
        copies += 1;
    }
    out.write_all(&tail).unwrap();
    out.flush().unwrap();
    println!("{output}: {} records x {copies} copies, {} bytes", json.len(), written + tail.len() as u64);
}
