//! EVTX Triage in the browser: presentation and browser plumbing only. All
//! reading and detection is the `evtx-triage` core, run in Web Workers.
//!
//! - [`components`]: the Yew views.
//! - [`state`]: a run as the page sees it, parts folded in file order.
//! - [`pool`] / [`protocol`]: the worker pool and its messages.
//! - [`worker`]: the worker side (the `worker` binary).
//! - [`stories`]: stories and contexts, their chunks read again from the `File`s.
//! - [`browser`]: downloads, files from inputs and drops, the network lock.

pub mod browser;
pub mod components;
pub mod persist;
pub mod pool;
pub mod protocol;
pub mod state;
pub mod stories;
pub mod worker;
