//! EVTX Triage core: reads Windows event logs chunk by chunk, runs MITRE CAR
//! analytics (as Sigma rules, with rsigma) on every record, and reports
//! findings with their ATT&CK mapping and why they matched.
//!
//! The crate has no web dependencies: the CLI (`src/main.rs`) and the
//! browser app (`web/`) drive the same code.
//!
//! - [`reader`]: bytes in, file header checked, 64 KiB chunks out.
//! - [`scan`]: a chunk in, records parsed, rules run, findings and stats out.
//! - [`event`]: a record as the flat field map Sigma rules expect.
//! - [`analytics`] / [`rules`] / [`prefilter`]: analytics as data, compiled.
//! - [`rule_source`] / [`rule_load`]: rule packs from files, folders and zips,
//!   each rule loaded or skipped with its reason; [`logsource`]: which
//!   records a rule's logsource means; [`attack`]: ATT&CK names for tags.
//! - [`input`]: which format a file is, by its content; [`text_split`] /
//!   [`text_scan`]: JSON and XML exports read document by document, mapped
//!   onto the same event view ([`doc_map`], [`xml_event`]).
//! - [`integrity`]: EventRecordID gaps, time running backwards, cleared logs.
//! - [`reread`]: one record's full event, read again from its chunk; [`chunk_json`]: chosen
//!   records of intact chunks rendered as `evtx_dump` renders them.
//! - [`index`]: each file's chunks by time, computer and GUID, built while scanning;
//!   [`story`] / [`incident`] / [`context`]: a finding's process and the events
//!   around it, read again from the chunks the index names.
//! - [`query`]: event search, a query language compiled to one Sigma rule.
//! - [`timeline`]: events per minute per computer and channel, kept while scanning, bucketed with the findings.
//! - [`report`] / [`export`]: the run's results and their formats; [`navigator`]:
//!   the techniques hit as an ATT&CK Navigator layer; [`time_zone`]: times as shown.
//! - [`writer`] / [`demo`]: a small EVTX writer for fixtures and the demo log;
//!   [`text_export`]: records written as the text exports, for tests and benchmarks.

mod admission;
pub mod analytics;
pub mod attack;
pub mod chunk_json;
pub mod context;
pub mod correlate;
pub mod cut_record;
pub mod demo;
pub mod digest;
pub mod doc_map;
pub mod event;
mod event_details;
pub mod export;
pub mod finding_table;
pub mod html_report;
pub mod incident;
pub mod index;
pub mod input;
pub mod integrity;
pub mod intern;
pub mod logsource;
mod matched_value;
pub mod navigator;
pub mod prefilter;
pub mod query;
pub mod quick;
pub mod quick_view;
pub mod reader;
pub mod recover;
pub mod regex_literals;
pub mod report;
pub mod reread;
pub mod rule_load;
pub mod rule_source;
pub mod rules;
pub mod scan;
pub mod story;
pub mod story_batch;
pub mod text_export;
pub mod text_scan;
pub mod text_split;
pub mod time_zone;
pub mod timeline;
pub mod writer;
pub mod xml_event;
